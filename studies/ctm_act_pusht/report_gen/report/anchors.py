"""Published reference points beside ours: studies/ctm_act_pusht/published/pusht_anchors.json and the headline's rows.

The published rows are data with their sources (never reproduced here); our rows are the headline sweep's
pooled means, so the table says at a glance how far a budget is from the published level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from polibench.io import read_json
from report_gen.report.format import Tex, escape
from report_gen.report.inputs import ReportError
from report_gen.report.tables import Table

DEFAULT_ANCHORS = Path(__file__).resolve().parents[2] / "published" / "pusht_anchors.json"
#: The demonstrations replayed in the harness (`python -m polibench.evaluation.demos`): the human ceiling.
DEFAULT_HUMAN = DEFAULT_ANCHORS.with_name("human_demos.json")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}\\%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def load_anchors(path: Path) -> list[dict[str, Any]]:
    try:
        anchors = read_json(path)["anchors"]
        for a in anchors:
            a["policy"], a["source"]  # noqa: B018 - the two fields every row needs
    except (KeyError, TypeError) as exc:
        raise ReportError(f"{path} is not a list of published anchors ({{\"anchors\": [{{\"policy\", \"source\", "
                          f"...}}]}}): missing {exc}") from exc
    return anchors


def load_human(path: Path) -> dict[str, Any]:
    """The human demonstrations' episode count, mean max coverage and success rate (per-episode lists dropped)."""
    doc = read_json(path)
    missing = [k for k in ("episodes", "avg_max_coverage", "success_rate") if k not in doc]
    if missing:
        raise ReportError(f"{path} lacks {missing}: regenerate it with `python -m polibench.evaluation.demos`")
    return {k: doc[k] for k in ("episodes", "avg_max_coverage", "success_rate")}


def anchors_table(anchors: Sequence[Mapping[str, Any]], headline: Sequence[Mapping[str, Any]], budget: str) -> Table:
    """Published rows (short citation, budget and episodes), then one row per headline variant (``budget``: how
    ours were trained, e.g. "6000 steps")."""
    rows = [[escape(a["policy"]), escape(a.get("cite", a["source"])), escape(a.get("observation", "-")),
             escape(a.get("budget_short", a.get("budget", "-"))), escape(a.get("episodes_short", a.get("episodes", "-"))),
             _pct(a.get("success")), _num(a.get("avg_max_reward"))] for a in anchors]
    for entry in headline:
        m, seeds = entry["metrics"], max(entry.get("n_seeds", 1), 1)
        rows.append([escape(f"ours: {entry['name']}"), "this report", "keypoints", escape(budget),
                     escape(f"{seeds} x {m['success_rate']['n'] // seeds}"), _pct(m["success_rate"]["mean"]),
                     _num(m.get("avg_max_reward", {}).get("mean"))])
    return Table("Published Push-T reference points (full sources in studies/ctm_act_pusht/published/pusht_anchors.json; none "
                 "reproduced here) beside this report's headline. Budgets, observations, episode counts and the "
                 "start distribution (gym-pusht 0.1.6 and later draw the start angle uniformly) differ: compare "
                 "levels, not decimals.", "tab:anchors",
                 ["policy", "source", "obs.", "budget", "episodes", "success", "avg max reward"],
                 [[Tex(c) for c in r] for r in rows])
