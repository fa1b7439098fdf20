"""The claims check: every comparison the text states in words rests on a committed verdict that still says so.

``claims.json`` lists each claim once: the sweep, the verdicts file, the variant, what it is compared with, the
metric and the verdict the sentence states. A claim of the paper carries a ``label`` that its sentence's line in
the tex carries as a comment, ``% claim:<label>``; a claim elsewhere (the README) is found by its ``text``. The
check fails, naming the file, line and sentence to rewrite, when the committed verdict differs from the claim, when
the tex labels a sentence no claim lists, or when a claim's label is not in its tex: a flipped result stops the
build instead of switching prose behind the authors' backs.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from polibench.sweep.verdicts import claim_of, direction_of, verdict_of
from report_gen.paper.sources import CPU, REPO, STUDY, PaperError

CLAIMS = STUDY / "claims.json"
#: The paper's source as claims name it in ``where`` (relative to the repository root).
PAPER_WHERE = "studies/ctm_act_pusht/paper/paper.tex"
_LABEL = re.compile(r"(?<!\\)%\s*claim:([\w.-]+)")


def load(path: Path = CLAIMS) -> list[dict[str, Any]]:
    try:
        return json.loads(path.read_text())["claims"]
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise PaperError(f"{path} is not a claims file ({exc}): it is a JSON object with a 'claims' list") from exc


def committed_verdict(claim: dict[str, Any], results_dir: Path) -> tuple[str | None, str]:
    """The verdict the claim's verdicts file gives now (None: it does not compare those two on that metric), and
    the file's name relative to the results."""
    name = f"{claim['sweep']}/{claim['verdicts']}.json"
    path = results_dir / name
    if not path.is_file():
        return None, f"{name} (missing)"
    doc = json.loads(path.read_text())
    if doc["variant"] != claim["variant"]:
        return None, f"{name} (verdicts of {doc['variant']}, not {claim['variant']})"
    entry = doc["metrics"].get(claim["metric"], {})
    comparison = entry.get("vs", {}).get(claim["against"])
    if not comparison:
        return None, name
    # a screen on one training seed states its paired verdict, as a screen's; every other claim needs the seed level
    rule = verdict_of if claim.get("rule") == "screen" else claim_of
    return rule(comparison, direction_of(entry["better"])), name


def labelled_lines(tex: str) -> dict[str, list[tuple[int, str]]]:
    """Label -> every (line number, sentence before the comment) that carries ``% claim:<label>``."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for number, line in enumerate(tex.splitlines(), start=1):
        for label in _LABEL.findall(line):
            found[label].append((number, _LABEL.split(line)[0].strip()))
    return found


def paper_failures(tex_path: Path, claims: Sequence[dict[str, Any]], results_dir: Path,
                   where: str = PAPER_WHERE) -> list[str]:
    """The claims check of one tex file (``tex_path``, which claims name ``where``)."""
    ours = [c for c in claims if c.get("where") == where and "label" in c]
    lines = labelled_lines(tex_path.read_text())
    failures = []
    for label, uses in lines.items():
        if label not in {c["label"] for c in ours}:
            failures += [f"{where}:{n}: the sentence {s!r} is labelled claim:{label}, which no claim of claims.json "
                         f"lists: add the claim (its sweep, verdicts, variant, against, metric, verdict) or drop the "
                         "label" for n, s in uses]
    for claim in ours:
        uses = lines.get(claim["label"], [])
        if not uses:
            failures.append(f"{where} has no line labelled % claim:{claim['label']} ({claim['text']!r} in "
                            "claims.json): put the label on the sentence's line, or drop the claim")
        found, source = committed_verdict(claim, results_dir)
        if found != claim["verdict"]:
            for n, sentence in uses or [(0, claim["text"])]:
                failures.append(f"{where}:{n}: rewrite {sentence!r}: it claims {claim['variant']} vs "
                                f"{claim['against']} on {claim['metric']} is {claim['verdict']}, the committed "
                                f"{source} says {found}")
    return failures


def text_failures(claim: dict[str, Any], root: Path, results_dir: Path) -> list[str]:
    """The check of a claim found by its text (the README's)."""
    failures = []
    found, source = committed_verdict(claim, results_dir)
    if found != claim["verdict"]:
        failures.append(f"{claim['variant']} vs {claim['against']} on {claim['metric']} is {found} in {source}, not "
                        f"{claim['verdict']}: rewrite {claim['text']!r} in {claim['where']}")
    if claim["text"] not in " ".join((root / claim["where"]).read_text().split()):
        failures.append(f"{claim['where']} no longer says {claim['text']!r}: update or drop the claim")
    return failures


def failures(path: Path = CLAIMS, root: Path = REPO, results_dir: Path = STUDY / CPU) -> list[str]:
    """Every failing claim of ``path``: each tex file its labelled claims name (and the paper, whose stray labels
    fail too), and each claim found by its text."""
    claims = load(path)
    papers = dict.fromkeys([PAPER_WHERE, *(c["where"] for c in claims if "label" in c)])
    out = [f for where in papers for f in (paper_failures(root / where, claims, results_dir, where)
                                           if (root / where).is_file() else [f"{where} does not exist"])]
    return out + [f for c in claims if "label" not in c for f in text_failures(c, root, results_dir)]
