"""`report_gen.paper` on the committed results: every macro equals its source file's value, the tables' verdict words
are the committed verdicts, a flipped verdict or an undefined macro fails with the line to fix, every figure takes
its colours from the one style, and one real LaTeX build (read back with pdftotext) has every section and embeds
every figure."""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from matplotlib.colors import BASE_COLORS, CSS4_COLORS, TABLEAU_COLORS, to_hex

from polibench.sweep.verdicts import claim_of, verdict_of
from report_gen.paper import build, claims, figures, formats, latex, numbers, style
from report_gen.paper.sources import CPU, STUDY, PaperError
from tests.conftest import REPO

RESULTS = STUDY / CPU
#: Section titles of paper.tex, as pdftotext prints them (numbered or lettered, References and Abstract not).
SECTIONS = ("Abstract", "Introduction", "Related Work", "Method", "Experimental Setup", "Results", "Ablations",
            "Visualisations", "Discussion", "Threats to Validity", "Conclusion", "Future Work", "References",
            "Screens Against Their Bases", "Every Committed Sweep")
HAVE_TEX = bool(shutil.which("latexmk") and shutil.which("pdftotext"))
TEX_MISSING = ("latexmk/pdftotext not installed (apt-get install latexmk poppler-utils texlive-latex-base "
               "texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended); CI installs them")
needs_tex = pytest.mark.skipif(not HAVE_TEX, reason=TEX_MISSING)
#: The benchmark each group's ratio divides by (benchmarks/ratios.py's convention), restated to check its tables.
ACT_REFERENCE = {"inference": "test_model_call_latency_batch1[act_chunk8]",
                 "training": "test_training_step_batch64[act]",
                 "training_bf16": "test_training_step_batch64_bf16[act]"}
SPEED_JSON = [STUDY / "results" / "speed_cpu.json", STUDY / "results" / "gpu" / "speed_h100.json"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """The paper's sources written from the committed results (no TeX needed)."""
    out = tmp_path_factory.mktemp("paper")
    build.write_sources(out)
    return out


@pytest.fixture(scope="module")
def pdf(sources) -> Path:
    """The paper compiled once from those sources."""
    if not HAVE_TEX:
        pytest.skip(TEX_MISSING)
    return latex.compile_pdf(sources / build.PAPER_TEX.name, build.PDF_NAME)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def walk(doc: Any, key: str) -> Any:
    """The test's own reading of a key path: objects by key, lists of objects by their "name"."""
    for segment in key.split("/"):
        doc = next(x for x in doc if x["name"] == segment) if isinstance(doc, list) else doc[segment]
    return doc


def source_value(number: numbers.Number, key: str | None = None) -> Any:
    return walk(json.loads((STUDY / number.file).read_text()), key or number.key)


def defined_macros(sources: Path) -> dict[str, str]:
    text = (sources / "generated" / "numbers.tex").read_text()
    return dict(re.findall(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\\xspace\}$", text, flags=re.MULTILINE))


def printed_numbers(text: str) -> list[tuple[float, float]]:
    """Each number of a macro's text with half a unit of its last printed digit (its rounding)."""
    found = re.findall(r"[+-]?\d[\d,]*(?:\.(\d+))?", text)
    values = [float(m.replace(",", "")) for m in re.findall(r"[+-]?\d[\d,]*(?:\.\d+)?", text)]
    return [(v, 0.5 * 10 ** -len(d) + 1e-12) for v, d in zip(values, found)]


def matches(text: str, expected: list[float]) -> bool:
    got = printed_numbers(text)
    return len(got) == len(expected) and all(abs(v - e) <= tol for (v, tol), e in zip(got, expected))


def test_every_macro_equals_the_value_of_its_source_file_and_key(sources):
    defined = defined_macros(sources)
    table = numbers.table()
    assert set(defined) == set(table) and {"HeadSuccessDP", "HeadDiffSuccessCTMvsDP", "HeadVerdictSuccessCTMvsDP",
                                           "HeadClaimSuccessCTMvsDP", "HeadSeedsSuccessCTMvsDP",
                                           "ScreenVerdictSuccessTicksOne", "ScreenHalfWidthSuccessTicksOne",
                                           "HumanReplayCoverage"} <= set(defined)
    for name, number in table.items():
        value, text, fmt = source_value(number), defined[name], number.fmt
        if isinstance(fmt, formats.Stat):
            expected = [value["mean"], value["ci_low"], value["ci_high"]][:3 if fmt.interval else 1]
        elif isinstance(fmt, formats.Difference):
            expected = [value["difference"], *value["difference_ci"]]
        elif isinstance(fmt, formats.HalfWidth):
            low, high = value["difference_ci"]
            expected = [(high - low) / 2]
        elif isinstance(fmt, (formats.Verdict, formats.Claim)):
            better = source_value(number, number.key.split("/vs/")[0])["better"]
            rule = verdict_of if isinstance(fmt, formats.Verdict) else claim_of
            assert text == rule(value, 1 if better == "higher" else -1), name
            continue
        elif isinstance(fmt, formats.SeedTest):
            test = value["seed_test"]
            if test is None:
                assert text == "none (one training seed)", name
                continue
            text, p_text = text.split(r",\ p ")
            assert p_text == ("< 0.001}" if test["p"] < 0.001 else f"= {test['p']:.2g}}}"), name
            expected = [test["difference"], *test["difference_ci"]]
        elif isinstance(fmt, formats.Length):
            expected = [len(value)]
        elif isinstance(fmt, formats.Text):
            assert text == latex.escape(value), name
            continue
        else:
            expected = [value / (source_value(number, number.over) if number.over else 1) * fmt.scale]
        assert matches(text, expected), (name, number.file, number.key, text, expected)
    # each definition sits under the comment naming its file and key
    for name, number in table.items():
        assert f"% {number.file.as_posix()}: {number.key}" in (sources / "generated" / "numbers.tex").read_text()


def test_a_missing_source_file_or_key_is_an_error_naming_it():
    missing = numbers.Number("HumanNothing", Path("published") / "no_such_file.json", "episodes", formats.COUNT)
    with pytest.raises(PaperError, match=r"no_such_file\.json is missing"):
        numbers.values({missing.name: missing})
    wrong_key = numbers.Number("HumanNothing", numbers.HUMAN, "replay/no_such_key", formats.COUNT)
    with pytest.raises(PaperError, match=r"human_demos\.json has no 'replay/no_such_key'"):
        numbers.values({wrong_key.name: wrong_key})


def committed_screens() -> list[tuple[str, dict[str, Any]]]:
    """(the paper's row name: the gin file's screen name and its training seeds a side where more than one,
    verdicts document) of every committed screen, read here from the files."""
    spec = json.loads((RESULTS / "parity_screens" / "sweep.json").read_text())
    out = []
    for path in sorted((RESULTS / "parity_screens").glob("verdicts_*.json")):
        doc = json.loads(path.read_text())
        if doc["variant"].startswith("screen_"):
            first = (REPO / spec["variants"][doc["variant"]]["gin_files"][0]).read_text().splitlines()[0]
            name = re.match(r"# Parity screen '([^']+)'", first).group(1)
            test = next(iter(doc["metrics"]["success"]["vs"].values())).get("seed_test")
            out.append((name if not test else f"{name}, {min(test['seeds'])} seeds", doc))
    return out


def table_rows(path: Path) -> list[list[str]]:
    body = path.read_text().split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
    return [[c.strip().replace(r"\addlinespace ", "") for c in line.removesuffix(r"\\").split(" & ")]
            for line in body.strip().splitlines()]


def test_the_screens_table_verdict_words_are_the_committed_verdicts(sources):
    rows = table_rows(sources / "generated" / "tab_screens.tex")
    expected = []
    for name, doc in committed_screens():
        for metric in ("success", "max_coverage", "jerk"):
            entry = doc["metrics"][metric]
            comparison, = entry["vs"].values()
            expected.append((name, verdict_of(comparison, 1 if entry["better"] == "higher" else -1)))
    assert expected, "no committed screen"
    names = [r[0] or None for r in rows]
    filled = [next(n for n in reversed(names[:i + 1]) if n) for i in range(len(rows))]
    assert [(latex.escape(n), v) for n, v in expected] == [(n, r[-1]) for n, r in zip(filled, rows)]


def test_the_headline_table_shows_the_committed_results_and_verdicts(sources):
    results = json.loads((RESULTS / "headline_long" / "results.json").read_text())
    verdicts = json.loads((RESULTS / "headline_long" / "verdicts.json").read_text())
    rows = table_rows(sources / "generated" / "tab_headline_long.tex")
    assert len(rows) == len(results["variants"])
    for row, v in zip(rows, results["variants"]):
        assert row[0] == latex.escape(style.label(v["name"]))
        for cell, metric in zip(row[2:5], ("success_rate", "avg_max_coverage", "jerk")):
            stat = v["metrics"][metric]
            assert matches(cell, [stat["mean"], stat["ci_low"], stat["ci_high"]]), (v["name"], metric, cell)
        words = []
        for metric in ("success", "max_coverage", "jerk"):
            entry = verdicts["metrics"][metric]
            if v["name"] in entry["vs"]:
                words.append(verdict_of(entry["vs"][v["name"]], 1 if entry["better"] == "higher" else -1))
        assert row[-1] == (", ".join(words) if words else "--"), v["name"]


def test_the_recipe_table_states_what_the_committed_runs_trained_with(sources):
    rows = {r[0]: r[1:] for r in table_rows(sources / "generated" / "tab_recipe.tex")}
    runs = [RESULTS / "parity_screens" / "variants" / "parity_act" / "seed0",
            RESULTS / "parity_screens" / "variants" / "parity_ctm_act" / "seed0",
            RESULTS / "headline_long" / "variants" / "diffusion" / "seed0"]
    for i, run in enumerate(runs):
        info = json.loads((run / "run.json").read_text())
        config = (run / "config.gin").read_text()
        assert rows["parameters"][i] == f"{info['n_params'] / 1e6:.2f}M"
        lr = re.search(r"^TrainConfig\.lr = (.+)$", config, flags=re.MULTILINE).group(1)
        assert rows["learning rate / weight decay"][i].startswith(lr + " / ")
        assert rows["EMA decay of the weights"][i] == re.search(r"^TrainConfig\.ema_decay = (.+)$", config,
                                                                flags=re.MULTILINE).group(1)
    assert rows["CTM neurons / ticks per call"] == ["--", "704 / 10", "--"]


def test_the_appendix_has_every_committed_sweep_and_verdicts_file(sources):
    text = (sources / "generated" / "appendix_sweeps.tex").read_text().replace(r"\allowbreak{}", "")
    text = text.replace(r"\_", "_")
    for path in sorted(RESULTS.glob("*/results.json")):
        assert rf"\subsection*{{\texttt{{{path.parent.name}}}}}" in text
        for verdicts in path.parent.glob("verdicts*.json"):
            assert rf"(\texttt{{{verdicts.name}}})" in text
    spec = json.loads((RESULTS / "headline_long" / "sweep.json").read_text())
    assert spec["command"] in text.replace("\n", "")


def paper_with_claim(tmp_path: Path, verdict: str) -> tuple[Path, list[dict[str, Any]], str]:
    """A paper whose line 3 claims CTM-ACT's success against Diffusion Policy in the long headline, with its claim."""
    sentence = r"CTM-ACT compares with Diffusion Policy on success as \HeadClaimSuccessCTMvsDP says."
    tex = tmp_path / "paper.tex"
    tex.write_text("\\section{Results}\n% the headline\n" + sentence + " % claim:headline-success-dp\n")
    claim = {"text": "CTM-ACT compares with Diffusion Policy on success", "where": claims.PAPER_WHERE,
             "label": "headline-success-dp", "sweep": "headline_long", "verdicts": "verdicts",
             "variant": "ctm_act_unet", "against": "diffusion", "metric": "success", "verdict": verdict}
    return tex, [claim], sentence


def committed_success_verdict() -> str:
    entry = json.loads((RESULTS / "headline_long" / "verdicts.json").read_text())["metrics"]["success"]
    return claim_of(entry["vs"]["diffusion"], 1)


def test_a_flipped_verdict_fails_the_claims_check_naming_the_line_to_rewrite(tmp_path):
    committed = committed_success_verdict()
    tex, claimed, sentence = paper_with_claim(tmp_path, committed)
    results = tmp_path / "results"
    shutil.copytree(RESULTS / "headline_long", results / "headline_long",
                    ignore=shutil.ignore_patterns("variants"))
    assert claims.paper_failures(tex, claimed, results) == []
    path = results / "headline_long" / "verdicts.json"
    doc = json.loads(path.read_text())
    seeds = {"test": "welch_t_on_seed_means", "seeds": [3, 3], "df": 4.0, "p": 0.001}
    better = {"probability": 0.9, "ci_low": 0.85, "ci_high": 0.95, "difference": 0.2, "difference_ci": [0.1, 0.3],
              "seed_test": {**seeds, "difference": 0.2, "difference_ci": [0.1, 0.3], "verdict": "better"}}
    worse = {"probability": 0.1, "ci_low": 0.05, "ci_high": 0.15, "difference": -0.2, "difference_ci": [-0.3, -0.1],
             "seed_test": {**seeds, "difference": -0.2, "difference_ci": [-0.3, -0.1], "verdict": "worse"}}
    doc["metrics"]["success"]["vs"]["diffusion"] = worse if committed == "better" else better
    path.write_text(json.dumps(doc))
    failure, = claims.paper_failures(tex, claimed, results)
    assert failure.startswith(f"{claims.PAPER_WHERE}:3: rewrite {sentence!r}") and committed in failure


def test_a_label_without_a_claim_and_a_claim_without_its_label_fail(tmp_path):
    tex, claimed, _ = paper_with_claim(tmp_path, committed_success_verdict())
    tex.write_text(tex.read_text().replace("claim:headline-success-dp", "claim:nobody-lists-this"))
    failures = claims.paper_failures(tex, claimed, RESULTS)
    assert len(failures) == 2
    assert any(f.startswith(f"{claims.PAPER_WHERE}:3:") and "claim:nobody-lists-this" in f for f in failures)
    assert any("% claim:headline-success-dp" in f and "put the label" in f for f in failures)


def test_the_build_checks_the_claims_before_latex(tmp_path):
    committed = committed_success_verdict()
    tex, claimed, sentence = paper_with_claim(tmp_path, "tie" if committed != "tie" else "better")
    claims_file = tmp_path / "claims.json"
    claims_file.write_text(json.dumps({"claims": claimed}))
    with pytest.raises(PaperError, match=re.escape(f"{claims.PAPER_WHERE}:3: rewrite {sentence!r}")):
        build.check(tex, claims_file=claims_file)


def test_an_undefined_macro_fails_before_latex_naming_it(tmp_path):
    tex = tmp_path / "draft.tex"
    tex.write_text("Success \\HeadSuccessDP.\n% \\HeadNotUsedInAComment\nand \\HeadSuccesDP{} again.\n")
    with pytest.raises(PaperError) as error:
        build.check(tex)
    message = str(error.value)
    assert r"draft.tex:3: \HeadSuccesDP is not defined" in message and r"did you mean \HeadSuccessDP" in message
    assert "HeadNotUsedInAComment" not in message and "draft.tex:1" not in message


def test_missing_latexmk_is_a_clear_error_naming_the_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(latex.shutil, "which", lambda tool: None)
    with pytest.raises(PaperError, match=r"latexmk, pdflatex, bibtex not found.*apt-get install "
                                         r"texlive-latex-base .*latexmk.*--no-pdf"):
        build.build(tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


def test_the_authored_paper_has_every_section_and_no_branches():
    tex = latex.strip_comments(build.PAPER_TEX.read_text())
    titles = re.findall(r"\\(?:sub)?section\{([^}]+)\}", tex)
    assert [s for s in SECTIONS if s not in ("Abstract", "References")] == titles
    assert r"\begin{abstract}" in tex and r"\bibliography{references}" in tex
    assert not re.search(r"\\if|\\ifthenelse|\\newif", tex)  # no outcome-dependent text


def legend_colours(fig) -> dict[str, tuple[str, str]]:
    return {t.get_text(): (to_hex(h.get_color()), h.get_marker())
            for legend in fig.legends for t, h in zip(legend.get_texts(), legend.legend_handles)}


def test_one_policy_one_colour_and_marker_in_every_figure():
    """Every legend entry that names a policy or a family has that family's colour and marker, in every figure;
    every line drawn is a family's colour or the style's neutral grey."""
    families = {style.label(v): style.family_of(v) for v in style.POLICIES} | {f.label: f for f in
                                                                              style.FAMILIES.values()}
    allowed = {to_hex(c) for c in [f.colour for f in style.FAMILIES.values()] + [style.NEUTRAL, style.BACKGROUND]}
    seen: dict[str, tuple[str, str]] = {}
    for make in figures.DRAWN.values():
        fig = make()
        for text, drawn in legend_colours(fig).items():
            if text in families:
                assert drawn == (to_hex(families[text].colour), families[text].marker), (make.__name__, text)
                assert seen.setdefault(text, drawn) == drawn
        for ax in fig.axes:
            assert {to_hex(line.get_color()) for line in ax.lines} <= allowed, make.__name__
    assert {"Diffusion Policy", "CTM-ACT", "ACT"} <= set(seen)


def test_figures_take_no_colour_of_their_own():
    """figures.py names no colour: every colour comes from report_gen.paper.style."""
    tree = ast.parse(Path(figures.__file__).read_text())
    colour_names = set(CSS4_COLORS) | set(BASE_COLORS) | set(TABLEAU_COLORS) | {"tab:" + c for c in CSS4_COLORS}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value.lower()
            assert value not in colour_names and not re.fullmatch(r"#[0-9a-f]{3,8}|c\d", value), node.value
        if isinstance(node, ast.keyword) and node.arg in ("color", "c", "colors", "mfc", "mec", "facecolor",
                                                          "edgecolor", "markerfacecolor", "markeredgecolor"):
            assert not isinstance(node.value, ast.Constant), ast.unparse(node)


def test_a_clipped_interval_end_stays_on_the_axis():
    assert figures.clip_limit([-0.1, 0.1, -0.2, 0.15]) == pytest.approx(0.2 * 1.08)
    assert figures.clip_limit([-0.1, 0.1, -0.12, 5.0]) == pytest.approx(figures.CLIP_FACTOR * 0.11)


def test_the_call_time_figure_marks_each_policy_at_its_committed_success_or_names_it_pending():
    """Each mark of the call-time figure sits at its committed call time and success; a policy whose sweep is
    still partial and lacks it is named in the legend as not evaluated yet."""
    fig = figures.speed_figure()
    latency = json.loads((STUDY / numbers.LATENCY).read_text())["policies"]
    drawn = {(round(float(line.get_xdata()[0]), 6), round(float(line.get_ydata()[0]), 6))
             for line in fig.axes[0].lines if len(line.get_xdata()) == 1}
    pending = [t.get_text() for legend in fig.legends for t in legend.get_texts() if t.get_text().startswith("not")]
    for point in figures.SPEED_POINTS:
        success = figures.speed_success(point, STUDY)
        if success is None:
            assert pending and (point.sampler or style.label(point.family_variant)) in pending[0]
        else:
            assert (round(latency[point.call]["median_ms"], 6), round(success["mean"], 6)) in drawn


def test_a_complete_sweep_without_a_call_time_policy_is_an_error(tmp_path):
    point = figures.SpeedPoint("act", "some_sweep", "parity_act")
    sweep = tmp_path / CPU / "some_sweep"
    sweep.mkdir(parents=True)
    doc = {"missing": ["parity_act/seed0"], "variants": [{"name": "parity_diffusion"}]}
    (sweep / "results.json").write_text(json.dumps(doc))
    assert figures.speed_success(point, tmp_path) is None  # partial: not evaluated yet
    (sweep / "results.json").write_text(json.dumps(doc | {"missing": []}))
    with pytest.raises(PaperError, match="parity_act"):
        figures.speed_success(point, tmp_path)


@needs_tex
def test_the_pdf_has_every_section_title(pdf):
    assert pdf.name == f"{build.PDF_NAME}.pdf" and pdf.read_bytes()[:5] == b"%PDF-"
    text = pdf_text(pdf)
    for title in SECTIONS:
        assert re.search(rf"^\s*([A-Z]|\d+(\.\d+)?)?\s*{title}\s*$", text, flags=re.MULTILINE), title
    assert "??" not in text  # every reference resolved


@needs_tex
def test_every_figure_is_embedded(pdf):
    tex = latex.strip_comments(build.PAPER_TEX.read_text())
    used = re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}", tex)
    assert len(used) == len(figures.DRAWN) + len(figures.INTERNALS)
    recorded = pdf.with_suffix(".fls").read_text()
    for name in used:
        assert f"INPUT ./{name}" in recorded, name
    text = " ".join(pdf_text(pdf).split())
    for words in ("optimiser steps", "batch-1 model call", "paired difference, screen minus its base"):
        assert words in text  # the drawn figures' text is in the PDF, as vector text
    images = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert len(images.strip().splitlines()) - 2 >= len(figures.INTERNALS)  # the internals renderings


def expected_speed(path: Path) -> dict[str, list[str]]:
    """Benchmark name -> [median ms, ratio vs ACT] as benchmarks/ratios.py must print them, computed here."""
    benches = json.loads(path.read_text())["benchmarks"]
    medians = {b["name"]: b["stats"]["median"] for b in benches}
    out = {}
    for b in benches:
        ref = ACT_REFERENCE.get(b["extra_info"].get("group"))
        ratio = f"{medians[b['name']] / medians[ref]:.2f}x" if ref in medians else "-"
        out[b["name"]] = [f"{medians[b['name']] * 1e3:.3f}", ratio]
    return out


def test_ratios_script_shares_the_paper_ratios():
    spec = importlib.util.spec_from_file_location("ratios", REPO / "benchmarks" / "ratios.py")
    ratios = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ratios)
    for path in SPEED_JSON:
        committed = path.with_name(f"{path.stem}_ratios.md").read_text()
        assert ratios.ratios(path).strip() == committed.strip()
        assert all(f"| {n} | {ms} | {r} |" in committed for n, (ms, r) in expected_speed(path).items())


def test_results_claims_check_covers_the_paper(tmp_path, monkeypatch):
    """`report_gen.results --check` runs the same check: a claims file naming the paper with a label the paper
    lacks fails there too."""
    from report_gen import results

    doc = json.loads(results.CLAIMS.read_text())
    _, claimed, _ = paper_with_claim(tmp_path, committed_success_verdict())
    extended = copy.deepcopy(doc)
    extended["claims"] += claimed
    (tmp_path / "claims.json").write_text(json.dumps(extended))
    monkeypatch.setattr(results, "CLAIMS", tmp_path / "claims.json")
    failure, = results.claim_failures()
    assert failure.startswith(f"{claims.PAPER_WHERE} has no line labelled % claim:headline-success-dp")
