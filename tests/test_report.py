"""`report_gen.report`: a real PDF from tiny real sweeps (policy axis as the headline, synapse axis as an ablation)
and the committed speed benchmarks, checked through pdftotext against results.json and the benchmark JSON; and
clear errors for bad inputs."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from polibench.cli import main as polibench_main
from polibench.config import CONFIG_DIR
from polibench.data.download import ENV_VAR
from report_gen.report import REPORT_NAME, ReportError, add_arguments, build_report, main
from report_gen.report.names import variant_name
from report_gen.report.speed import label
from report_gen.report.ties import mark_ties
from tests.conftest import REPO
from tests.tiny_run import TINY

CTM_TINY = [b.replace("policy.act.", "policy.ctm_act.") for b in TINY if b.startswith("policy.act.")] + [
    "policy.ctm_act.neurons = 32", "policy.ctm_act.memory = 4", "policy.ctm_act.ticks = 3",
    "policy.ctm_act.action_pairs = 16", "policy.ctm_act.out_pairs = 16",
]
SECTIONS = ("Abstract", "Introduction", "Related Work", "Method", "Experiments", "Results", "Ablations",
            "Visualisations", "Discussion", "Conclusion", "Future Work", "References")
#: How the report prints each table metric (the formats of the README and results.md tables).
PRINTED = {"success_rate": "{:.2f}", "avg_max_coverage": "{:.3f}", "avg_max_reward": "{:.3f}",
           "latency_per_call_ms": "{:.1f}"}
#: Committed pytest-benchmark sessions: a quiet 2-core CPU and an H100 (POLIBENCH_BENCH_DEVICE=cuda).
SPEED_JSON = [REPO / "studies" / "ctm_act_pusht" / "results" / "speed_cpu.json",
              REPO / "studies" / "ctm_act_pusht" / "results" / "gpu" / "speed_h100.json"]
#: The benchmark each group's ratio divides by (benchmarks/ratios.py's convention), restated to check the table.
ACT_REFERENCE = {"inference": "test_model_call_latency_batch1[act_chunk8]",
                 "training": "test_training_step_batch64[act]",
                 "training_bf16": "test_training_step_batch64_bf16[act]"}
needs_tex = pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
                               reason="latexmk/pdftotext not installed (apt-get install latexmk poppler-utils "
                                      "texlive-latex-base texlive-latex-recommended texlive-latex-extra "
                                      "texlive-fonts-recommended); CI installs them")


def ablate(out, axis: str, values: str, seeds: int, base: str = "gin/ctm_act_unet.gin") -> None:
    args = ["ablate", "--axis", axis, "--values", values, "--base", base, "--seeds", str(seeds),
            "--out", str(out), "--no-progress"]
    for binding in [*TINY, *CTM_TINY]:
        args += ["--gin_param", binding]
    assert polibench_main(args) == 0


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory, zarr_path):
    root = tmp_path_factory.mktemp("report_sweeps")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, str(zarr_path))
        ablate(root / "headline", "policy", "act,ctm_act", seeds=2)
        ablate(root / "synapse", "synapse", "mlp,unet", seeds=1)
    return root


@pytest.fixture(scope="module")
def viz_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("viz")
    fig = Figure(figsize=(3, 2))
    FigureCanvasAgg(fig)
    fig.subplots().plot([0, 1, 2], [1, 0, 1])
    fig.savefig(d / "ticks.png", dpi=60)
    (d / "figures.json").write_text(json.dumps({"run": "tiny_ctm", "figures": [
        {"file": "ticks.png", "title": "Certainty per tick",
         "caption": "A placeholder curve_with_underscores & 5%."}]}))
    return d


@pytest.fixture(scope="module")
def report(sweeps, viz_dir, tmp_path_factory):
    if shutil.which("latexmk") is None:
        pytest.skip("latexmk not installed")
    out = tmp_path_factory.mktemp("report")
    single = sweeps / "headline" / "variants" / "act" / "seed0"
    pdf = build_report([sweeps / "headline", sweeps / "synapse", single], out, viz_dirs=[viz_dir],
                       speed_files=SPEED_JSON)
    return pdf


def pdf_text(pdf) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def results(sweep_dir) -> dict:
    return json.loads((sweep_dir / "results.json").read_text())


def interval(metric: str, stat: dict) -> str:
    f = PRINTED[metric]
    return f"{f.format(stat['mean'])} [{f.format(stat['ci_low'])}, {f.format(stat['ci_high'])}]"


@needs_tex
def test_pdf_has_every_section_and_is_written_once(report):
    assert report.name == f"{REPORT_NAME}.pdf" and report.read_bytes()[:5] == b"%PDF-"
    text = pdf_text(report)
    for heading in SECTIONS:
        assert re.search(rf"^\s*(\d+(\.\d+)?\s+)?{heading}\s*$", text, flags=re.MULTILINE), heading
    assert "??" not in text  # every reference and citation resolved
    # TeX's side files stay in build/
    assert sorted(p.name for p in report.parent.iterdir()) == sorted(["build", report.name])


def expected_speed(path) -> dict[str, list[str]]:
    """Benchmark name -> [median ms, ratio vs ACT] as the table must print them, computed here from the JSON."""
    benches = json.loads(path.read_text())["benchmarks"]
    medians = {b["name"]: b["stats"]["median"] for b in benches}
    out = {}
    for b in benches:
        ref = ACT_REFERENCE.get(b["extra_info"].get("group"))
        ratio = f"{medians[b['name']] / medians[ref]:.2f}x" if ref in medians else "-"
        out[b["name"]] = [f"{medians[b['name']] * 1e3:.3f}", ratio]
    return out


def unescape(tex: str) -> str:
    """Undo the escapes the speed table and its prose use, to compare with plain text."""
    return tex.replace("-{}", "-").replace(r"\_", "_").replace(r"\textquotesingle{}", "'")


def speed_rows(tex: str) -> dict[str, list[str]]:
    """The speed table's rows in the LaTeX source, label -> cells, unescaped."""
    body = tex[tex.index(r"\label{tab:speed}"):]
    body = body[body.index(r"\midrule") + len(r"\midrule"):body.index(r"\bottomrule")]
    rows = [unescape(line.removesuffix(r"\\")).split(" & ") for line in body.strip().splitlines()]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows}


def report_tex(sweeps, out, *speed) -> str:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = [str(sweeps / "headline" / "variants" / "act" / "seed0"), "--out", str(out), "--no-compile"]
    assert main(parser.parse_args(argv + [a for f in speed for a in ("--speed", str(f))])) == 0
    return (out / "build" / f"{REPORT_NAME}.tex").read_text()


def test_speed_table_numbers_equal_the_json(sweeps, tmp_path):
    rows = speed_rows(report_tex(sweeps, tmp_path, *SPEED_JSON))
    expected = [expected_speed(f) for f in SPEED_JSON]
    names = {n for e in expected for n in e}
    assert len(rows) == len(names)
    for name in names:
        assert rows[label(name)] == [c for e in expected for c in e.get(name, ["-", "-"])], name
    unet = "test_model_call_latency_batch1[ctm_act_unet_fixed_T]"
    assert rows["CTM-ACT unet, 10 ticks (model call, batch 1)"] == expected[0][unet] + expected[1][unet]


def test_speed_prose_and_caption_come_from_the_json(sweeps, tmp_path):
    tex = " ".join(unescape(report_tex(sweeps, tmp_path, *SPEED_JSON)).split())
    for path in SPEED_JSON:
        e = expected_speed(path)
        ctm = sorted((c for n, c in e.items() if "[ctm_act_" in n and "latency" in n), key=lambda c: float(c[1][:-1]))
        act = e[ACT_REFERENCE["inference"]][0]
        assert (f"In {path.stem}, a CTM-ACT model call (batch 1, every tick) took {ctm[0][1]} to {ctm[-1][1]} the "
                f"{act} ms of an ACT model call and a Diffusion Policy DDPM-100 call took "
                f"{e['test_model_call_latency_batch1[diffusion_ddpm100]'][1]} ACT's.") in tex
        train = sorted((c[1] for n, c in e.items() if n.startswith("test_training_step_batch64[ctm_act_")),
                       key=lambda r: float(r[:-1]))
        span = train[0] if len(train) == 1 else f"{train[0]} to {train[-1]}"
        assert f"A CTM-ACT training step (batch 64) took {span} the {e[ACT_REFERENCE['training']][0]} ms" in tex
    for path, device in zip(SPEED_JSON, ("cpu", "cuda")):
        cpu = json.loads(path.read_text())["machine_info"]["cpu"]
        assert f"{path.stem}: {cpu['brand_raw']}, {cpu['count']} CPU cores; models on device {device}" in tex
    assert "Latency should also be measured on a quiet machine" not in tex  # the speed section answers it


LEROBOT_TINY_ACT = ["policy.lerobot_act.chunk_size = 8", "policy.lerobot_act.n_action_steps = 8",
                    "policy.lerobot_act.dim_model = 32", "policy.lerobot_act.n_heads = 4",
                    "policy.lerobot_act.dim_feedforward = 64", "policy.lerobot_act.n_encoder_layers = 1",
                    "policy.lerobot_act.n_vae_encoder_layers = 1"]


def test_a_lerobot_sweep_is_a_baseline_check_beside_the_headline(sweeps, tmp_path, zarr_path, monkeypatch):
    pytest.importorskip("lerobot", reason="LeRobot extra not installed: pip install -e '.[lerobot]' && "
                                          "pip install --no-deps lerobot==0.4.4")
    from polibench.metric_table import METRICS, RANKED
    from report_gen.report.format import fmt_interval

    monkeypatch.setenv(ENV_VAR, str(zarr_path))
    reference = tmp_path / "lerobot_act"
    args = ["ablate", "--axis", "policy", "--values", str(CONFIG_DIR / "lerobot_act.gin"), "--seeds", "1",
            "--out", str(reference), "--no-progress"]
    assert polibench_main(args + [a for b in TINY + LEROBOT_TINY_ACT for a in ("--gin_param", b)]) == 0
    # given first, the reference sweep must still not become the headline
    tex = build_report([reference, sweeps / "headline", sweeps / "synapse"], tmp_path / "out", compile=False)
    tex = " ".join(unescape(tex.read_text()).replace(r"\allowbreak{}", "").split())
    assert "Baselines against LeRobot's implementations" in tex
    headline = re.search(r"\\subsection\{Headline: .*?\}.*?Sweep \\texttt\{(.*?)\}", tex)
    assert headline and headline.group(1) == str(sweeps / "headline")
    assert "Other ablations" not in tex and r"\subsection{Which synapse?}" in tex
    ours, = [v for v in results(sweeps / "headline")["variants"] if v["name"] == "act"]
    theirs, = results(reference)["variants"]
    verdicts = {"tied": [], "better": [], "worse": []}
    for metric, direction in RANKED.items():
        a, b = ours["metrics"][metric], theirs["metrics"][metric]
        apart = a["ci_low"] > b["ci_high"] or b["ci_low"] > a["ci_high"]
        verdict = "tied" if not apart else "better" if (a["mean"] > b["mean"]) == (direction > 0) else "worse"
        verdicts[verdict].append(f"{METRICS[metric].label} ({fmt_interval(metric, a)} vs {fmt_interval(metric, b)})")
    parts = [f"{k} on " + (v[0] if len(v) == 1 else f"{', '.join(v[:-1])} and {v[-1]}")
             for k, v in verdicts.items() if v]
    assert f"Our ACT against LeRobot ACT: {'; '.join(parts)}." in tex
    # without a headline to check against, the same sweep is reported as an ablation, not dropped
    alone = build_report([reference], tmp_path / "alone", compile=False).read_text()
    assert "Baselines against LeRobot" not in alone and "Other ablations" in alone


def test_speed_rows_missing_from_a_file_show_a_dash(sweeps, tmp_path):
    doc = json.loads(SPEED_JSON[0].read_text())
    doc["benchmarks"] = [b for b in doc["benchmarks"] if b["name"] != ACT_REFERENCE["inference"]]
    trimmed = tmp_path / "speed_no_act.json"
    trimmed.write_text(json.dumps(doc))
    tex = report_tex(sweeps, tmp_path / "out", trimmed, SPEED_JSON[1])
    rows = speed_rows(tex)
    h100 = expected_speed(SPEED_JSON[1])
    assert rows[label(ACT_REFERENCE["inference"])] == ["-", "-", *h100[ACT_REFERENCE["inference"]]]
    ddpm = "test_model_call_latency_batch1[diffusion_ddpm100]"
    assert rows[label(ddpm)][1] == "-" and rows[label(ddpm)][0] == expected_speed(trimmed)[ddpm][0]
    train = "test_training_step_batch64[ctm_act_unet]"
    assert rows[label(train)] == expected_speed(trimmed)[train] + h100[train]
    assert "In speed\\_no\\_act, a CTM" not in tex and "In speed\\_h100, a CTM" in tex


def test_ratios_script_shares_the_report_ratios():
    spec = importlib.util.spec_from_file_location("ratios", REPO / "benchmarks" / "ratios.py")
    ratios = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ratios)
    for path in SPEED_JSON:
        committed = path.with_name(f"{path.stem}_ratios.md").read_text()
        assert ratios.ratios(path).strip() == committed.strip()
        e = expected_speed(path)
        assert all(f"| {n} | {ms} | {r} |" in committed for n, (ms, r) in e.items())


@needs_tex
def test_speed_table_in_the_pdf_equals_the_json(report):
    lines = [" ".join(line.split()) for line in pdf_text(report).splitlines()]
    expected = [expected_speed(f) for f in SPEED_JSON]
    for name in {n for e in expected for n in e}:
        cells = " ".join(c for e in expected for c in e.get(name, ["-", "-"]))
        assert any(line == f"{label(name)} {cells}" for line in lines), (name, cells)


@needs_tex
def test_table_numbers_equal_results_json(report, sweeps):
    lines = [" ".join(line.split()) for line in pdf_text(report).splitlines()]
    for sweep, axis, shown in (("headline", "policy", ("success_rate", "avg_max_coverage", "avg_max_reward")),
                               ("synapse", "synapse", ("success_rate", "avg_max_coverage"))):
        for v in results(sweeps / sweep)["variants"]:
            rows = [line for line in lines if line.startswith(variant_name(axis, v["name"]) + " ")]
            expected = [interval(m, v["metrics"][m]) for m in shown]
            assert any(all(cell in row for cell in expected) for row in rows), (v["name"], expected, rows)
            latency = interval("latency_per_call_ms", v["metrics"]["latency_per_call_ms"])
            assert any(latency in row for row in rows), (v["name"], latency, rows)


@needs_tex
def test_prose_states_the_measured_outcome(report, sweeps):
    text = " ".join(pdf_text(report).split())
    variants = {v["name"]: v["metrics"] for v in results(sweeps / "headline")["variants"]}
    ratio = variants["ctm_act"]["latency_per_call_ms"]["mean"] / variants["act"]["latency_per_call_ms"]["mean"]
    assert f"{ratio:.1f}x as long as one of ACT" in text
    # T comes from what each run recorded when it was made
    assert json.loads((sweeps / "headline" / "variants" / "ctm_act" / "seed0" / "run.json").read_text())["ticks"] == 3
    assert "ticks per call of at most 3." in text or "ran all 3 ticks of every call." in text
    coverage = {n: m["avg_max_coverage"] for n, m in mark_ties(variants).items()}
    best = max(coverage, key=lambda n: coverage[n]["mean"])
    other = next(n for n in coverage if n != best)
    tied = coverage[other]["vs_best"] == "tie"
    assert ("no variant is shown to be better" in text) == tied
    assert (f"{best} has the best mean, {interval('avg_max_coverage', coverage[best])}" in text) == (not tied)


@needs_tex
def test_figures_are_embedded(report):
    tex = (report.parent / "build" / f"{REPORT_NAME}.tex").read_text()
    for name in ("headline_bars.pdf", "q_synapse.pdf", "runs_bars.pdf", "viz000.png"):
        assert f"{{figures/{name}}}" in tex and (report.parent / "build" / "figures" / name).exists()
    images = subprocess.run(["pdfimages", "-list", str(report)], check=True, capture_output=True, text=True).stdout
    assert len(images.splitlines()) > 2  # the header and at least one raster image (the visualisation)
    pages = subprocess.run(["pdfinfo", str(report)], check=True, capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", pages).group(1)) > 1
    text = " ".join(pdf_text(report).split())
    assert "Certainty per tick (run tiny_ctm). A placeholder curve_with_underscores & 5%." in text


def test_cli_writes_the_latex_source_without_tex(sweeps, viz_dir, tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(sweeps / "synapse"), "--out", str(tmp_path), "--viz", str(viz_dir), "--no-compile"])
    assert main(args) == 0
    tex = (tmp_path / "build" / f"{REPORT_NAME}.tex").read_text()
    assert "No sweep compares policies" in tex and r"\section{Ablations}" in tex
    assert "curve\\_with\\_underscores \\& 5\\%" in tex
    assert not (tmp_path / f"{REPORT_NAME}.pdf").exists()
    # no --speed: no speed section, and the future work still asks for the measurement
    assert "tab:speed" not in tex and "Speed on quiet machines" not in tex
    assert "Latency should also be measured on a quiet machine" in tex


def _no_results(sweeps, tmp_path):
    d = tmp_path / "unfinished"
    d.mkdir()
    shutil.copy(sweeps / "synapse" / "sweep.json", d / "sweep.json")
    return [d], []


def _viz_without_manifest(sweeps, tmp_path):
    return [sweeps / "synapse"], [tmp_path]


def _viz_missing_file(sweeps, tmp_path):
    (tmp_path / "figures.json").write_text(json.dumps({"run": "r", "figures": [{"file": "gone.png", "title": "t",
                                                                                "caption": "c"}]}))
    return [sweeps / "synapse"], [tmp_path]


@pytest.mark.parametrize("make, message", [
    (lambda s, t: ([t / "missing"], []), "is not a directory"),
    (lambda s, t: ([t], []), "is neither a sweep directory"),
    (lambda s, t: ([], []), "no inputs"),
    (_no_results, "has no results.json"),
    (_viz_without_manifest, "has no figures.json manifest"),
    (_viz_missing_file, "lists gone.png, which is not a file"),
])
def test_bad_inputs_are_clear_errors(sweeps, tmp_path, make, message):
    inputs, viz = make(sweeps, tmp_path)
    with pytest.raises(ReportError, match=re.escape(message)) as err:
        build_report(inputs, tmp_path / "out", viz_dirs=viz, compile=False)
    if make is _no_results:
        assert "polibench ablate --axis synapse" in str(err.value) and "again" in str(err.value)


@pytest.mark.parametrize("content, message", [
    ("not json {", "is not a pytest-benchmark JSON (JSONDecodeError"),
    ('{"axis": "policy", "variants": []}', "is not a pytest-benchmark JSON (missing key 'benchmarks')"),
    ('{"benchmarks": [], "machine_info": {}}', "has no benchmarks"),
    ('{"benchmarks": [{"name": "x", "stats": {"median": "fast"}}], "machine_info": {}}', "(ValueError"),
    (None, "is not a file"),
])
def test_bad_speed_json_is_a_clear_error(sweeps, tmp_path, content, message):
    bad = tmp_path / "speed.json"
    if content is not None:
        bad.write_text(content)
    with pytest.raises(ReportError, match=re.escape(message)) as err:
        build_report([sweeps / "synapse"], tmp_path / "out", compile=False, speed_files=[SPEED_JSON[0], bad])
    assert f"--speed {bad} " in str(err.value)  # names the file
    assert f"python -m pytest benchmarks --benchmark-json={bad}" in str(err.value)  # and the fix
    assert not (tmp_path / "out").exists()  # checked before anything is written


def test_bad_speed_json_writes_nothing(sweeps, tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text("[]")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = [str(sweeps / "synapse"), "--out", str(tmp_path / "out"), "--no-compile", "--speed", str(bad)]
    with pytest.raises(ReportError, match="pytest-benchmark"):
        main(parser.parse_args(argv))
    assert not (tmp_path / "out").exists()


def test_missing_latexmk_names_the_packages(sweeps, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(ReportError, match="apt-get install texlive-latex-base .* latexmk"):
        build_report([sweeps / "synapse"], tmp_path)
    assert not (tmp_path / "build").exists()


@needs_tex
def test_failed_compilation_points_at_the_log(sweeps, tmp_path, monkeypatch):
    broken = "\\documentclass{article}\\begin{document}\\notamacro\\end{document}\n"
    monkeypatch.setattr("report_gen.report.build.render", lambda context: broken)
    with pytest.raises(ReportError, match=r"Undefined control sequence.*\.log") as err:
        build_report([sweeps / "synapse"], tmp_path)
    assert str(tmp_path / "build" / f"{REPORT_NAME}.log") in str(err.value)
    assert not (tmp_path / f"{REPORT_NAME}.pdf").exists()


def test_hyperparameter_table_reads_every_headline_policys_settings():
    from report_gen.report.hyperparameters import hyperparameter_table, readable
    from report_gen.report.inputs import load_inputs

    table = hyperparameter_table(load_inputs([REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "headline"]).headline)
    rows = {unescape(str(r[0])): [unescape(str(c)) for c in r[1:]] for r in table.rows}
    assert table.header == ["setting", "ACT", "Diffusion Policy", "CTM-ACT (unet)", "CTM-ACT (mlp)",
                            "CTM-ACT (tick-sync)"]  # reader names, not config names
    assert rows["synapse"] == ["-", "-", "unet", "mlp", "tick sync"]  # words, not @synapse.unet
    assert rows["optimiser steps"] == ["6000"] * 5 and rows["decoder layers"][0] == "1"
    assert rows["parameters"][0] == "1.48M" and rows["EMA decay"][1] == "0.9999"
    assert readable("@pairing.random_pairing()") == "random pairing" and readable("None") == "-"


def test_published_anchors_sit_beside_the_headline(tmp_path):
    from report_gen.report.anchors import DEFAULT_ANCHORS, load_anchors

    headline = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "headline"
    tex = build_report([headline], tmp_path / "out", compile=False).read_text()
    body = tex[tex.index(r"\label{tab:anchors}"):]
    assert "LeRobot diffusion" in body and "65.4" in body and "ours: ACT" in body and "6000 steps" in body
    assert len(load_anchors(DEFAULT_ANCHORS)) >= 8
    bad = tmp_path / "anchors.json"
    bad.write_text('{"anchors": [{"policy": "x"}]}')
    with pytest.raises(ReportError, match="missing 'source'"):
        build_report([headline], tmp_path / "out2", compile=False, anchors=bad)
    assert r"\label{tab:anchors}" not in build_report([headline], tmp_path / "out3", compile=False,
                                                     anchors=None).read_text()


def test_the_cheapest_halting_budget_is_the_fewest_ticks_not_worse_than_never_halting():
    """On the committed predicted-error budget sweep: the budget the report names is not worse on success and
    coverage than never halting, and every budget with fewer ticks per call is worse on one of them."""
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import pair_verdicts, question_flags

    sweep = load_sweep(REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "halting_predicted_error")
    pairs = pair_verdicts(sweep, reps=300)
    cheapest, = question_flags("calibrated", {sweep.path.name: pairs})["cheapest"]
    ticks = {v["name"]: v["metrics"]["ticks_per_call"]["mean"] for v in sweep.variants}
    chosen = next(p for p in pairs if p.variant == cheapest["variant"])
    assert cheapest["setting"] == f"error budget {float(chosen.variant):.3g}"
    assert all(chosen.verdict(m) != "worse" for m in ("success_rate", "avg_max_coverage"))
    for p in pairs:
        if ticks[p.variant] < ticks[chosen.variant]:
            assert any(p.verdict(m) == "worse" for m in ("success_rate", "avg_max_coverage")), p.variant
    assert cheapest["t_max"] == 10 and float(cheapest["ticks"]) == pytest.approx(ticks[chosen.variant], abs=0.01)
    # the share is printed to one decimal so it agrees with the two-decimal ticks beside it (4.35 of 10: 43.5%)
    assert float(cheapest["share"]) == pytest.approx(10 * ticks[chosen.variant], abs=0.05)


def test_one_tick_at_inference_is_judged_per_training_budget():
    """On the committed inference-time ticks sweeps: weights trained 6000 steps lose outcome cut to their first
    tick, weights trained 30000 steps are tied with all ten; the flags keep the budgets in order, and the budget
    sentence names the sweep that trained longer instead of listing every run."""
    from report_gen.report import narrative
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import pair_verdicts, question_flags

    sweeps = [load_sweep(REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / name)
              for name in ("inference_ticks_long", "inference_ticks")]
    flags = question_flags("ticks", {s.path.name: pair_verdicts(s, reps=300) for s in sweeps})
    assert flags["one_tick_cut"] == [{"steps": 6000, "tied": False}, {"steps": 30000, "tied": True}]
    facts = [f for s in sweeps for runs in s.runs.values() for f in runs]
    assert narrative.budget(facts) == ("Runs trained for 6000 optimiser steps at batch 64 (read from each run's "
                                       "config.gin), except 30000 steps at batch 64 (inference_ticks_long).")


def test_the_verdict_table_marks_each_variant_as_its_paired_verdict():
    """One row per variant under a heading naming the base; a cell is bold-up where the variant is better, italic-
    down where worse, plain where tied, and its difference has the sign of the variant minus the base."""
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import VERDICT_MARKS, pair_verdicts, verdict_table

    sweep = load_sweep(REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "halting_predicted_error")
    pairs = pair_verdicts(sweep, reps=300)
    table = verdict_table({sweep.path.name: pairs}, "Halting.", "tab:x")
    heading, *rows = table.rows
    assert len(heading) == 1 and "against never halting" in heading[0] and len(rows) == len(pairs)
    assert table.header == ["variant", "success difference", "avg max coverage difference", "jerk difference"]
    verdicts = {p.verdict(m) for p in pairs for m in ("success_rate", "avg_max_coverage", "jerk")}
    assert verdicts >= {"tie", "worse"}  # the loosest budgets are worse: the marks below are exercised
    for pair, row in zip(pairs, rows):
        for metric, cell in zip(("success_rate", "avg_max_coverage", "jerk"), row[1:]):
            verdict, difference = pair.verdict(metric), pair.results[metric]["difference"]
            assert cell.startswith(VERDICT_MARKS[verdict].split("{")[0]) if verdict != "tie" else "\\text" not in cell
            assert re.search(r"[+-]", cell).group() == ("-" if difference < 0 else "+")


def test_a_headline_verdict_table_gives_p_with_the_intervals_its_marks_are_read_from():
    """With probability columns, each difference cell is followed by P(better) and its interval; a cell marked
    better or worse has both intervals clear of no difference on the same side, a plain cell has not."""
    from polibench.metric_table import METRICS
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import VERDICT_MARKS, pair_verdicts, verdict_table

    sweep = load_sweep(REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "headline")
    pairs = pair_verdicts(sweep, [("ctm_act_unet", "act"), ("ctm_act_unet", "diffusion")], reps=300)
    table = verdict_table({"headline": pairs}, "Headline.", "tab:x", probability=True)
    assert table.header == ["variant", "success difference", "P(better)", "avg max coverage difference", "P(better)",
                            "jerk difference", "P(better)"]
    rows = [r for r in table.rows if len(r) > 1]
    assert len(rows) == len(pairs) and "P(better): the probability" in table.caption
    marks = set()
    for pair, row in zip(pairs, rows):
        for i, metric in enumerate(("success_rate", "avg_max_coverage", "jerk")):
            c, cell, p = pair.results[metric], row[1 + 2 * i], row[2 + 2 * i]
            assert p == f"{c['probability']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}]"
            sign = METRICS[metric].better * np.sign(c["difference_ci"])
            apart = {"better": c["ci_low"] > 0.5 and min(sign) > 0, "worse": c["ci_high"] < 0.5 and max(sign) < 0}
            word = next((w for w, holds in apart.items() if holds), "tie")
            marks.add(word)
            assert cell.startswith(VERDICT_MARKS[word].split("{")[0]) if word != "tie" else "\\text" not in cell
    assert {"better", "worse"} <= marks  # CTM-ACT beats ACT on success and is rougher than both at 6000 steps


def test_a_screen_of_one_variant_is_paired_with_the_rivals_its_verdicts_name(tmp_path):
    """The mlp-synapse screen of the screened configuration has no base of its own: the report pairs it, as its
    committed verdicts did, with the unet version never halting and with the capacity screen's ACT, recomputing the
    differences from the episodes, and answers it under the combined configuration's question; moved away from
    the sweeps it names, it is refused with the fix."""
    from polibench.io import read_json
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import (
        VERDICT_METRICS,
        assign,
        pair_verdicts,
        question_flags,
        verdict_table,
    )

    path = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "screen_best_synapse"
    sweep = load_sweep(path)
    assert [q.key for q, _ in assign([sweep])] == ["combined"]
    pairs = pair_verdicts(sweep, reps=300)
    assert [(p.variant, p.base, p.base_policy) for p in pairs] == [
        ("mlp", "best_halting_inference/None", "ctm_act"), ("mlp", "screen_act_capacity/act", "act")]
    committed = read_json(path / "verdicts.json")["metrics"]
    for p in pairs:
        for metric, field in VERDICT_METRICS:
            assert p.results[metric]["difference"] == pytest.approx(committed[field]["vs"][p.base]["difference"])
    swaps = question_flags("combined", {sweep.path.name: pairs})["swaps"]
    assert [(s["against_act"], s["jerk"]) for s in swaps] == [(False, "better"), (True, "worse")]
    headings = [row[0] for row in verdict_table({sweep.path.name: pairs}, "C.", "tab:x").rows if len(row) == 1]
    assert len(headings) == 2 and "never halting" in headings[0] and "ACT (screen\\_act\\_capacity)" in headings[1]
    alone = tmp_path / "screen_best_synapse"
    shutil.copytree(path, alone)
    with pytest.raises(ReportError, match="with the sweep best_halting_inference, which must sit beside it"):
        pair_verdicts(load_sweep(alone), reps=10)


def test_variants_read_as_a_reader_names_them():
    """Recorded directory names become prose: a value through its axis' pattern, a calibrated tolerance (one
    budget per seed) as the tolerance, an unknown axis as the recorded text."""
    from polibench.sweep.inference import tolerance_variant

    assert variant_name("policy.ctm_act.ticks", "10") == "T = 10"
    assert variant_name("halting.variance.enabled", "False") == "halting off (all ticks)"
    assert variant_name("halting.predicted_error.max_error", "0.0894") == "error budget 0.0894"
    assert variant_name("halting.predicted_error.max_error", "0.0893561") == "error budget 0.0894"
    assert variant_name("halting.predicted_error.max_error", tolerance_variant(0.04)) == \
        "tolerance 0.04 (budget per seed)"
    assert variant_name("some.new.axis", "3") == "3"


def test_an_ablation_conclusion_groups_variants_by_their_paired_verdicts():
    """The synapse screen's smaller synapses tie the U-Net on outcome and are smoother (README: jerk -10.4 and -7.8,
    intervals apart); a variant several sweeps share is listed once per group with the sweeps that put it there
    (bf16 ties fp32 for ACT and for Diffusion Policy; sigmoid gating is smoother in the screen and on three seeds)."""
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import outcome_groups, pair_verdicts

    results = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu"
    synapse = outcome_groups(pair_verdicts(load_sweep(results / "screen_synapse"), reps=300))
    assert synapse["tied"] == synapse["free"] == ["mlp synapse", "tick-sync synapse"]
    assert not synapse["better"] and not synapse["worse"] and not synapse["rougher"] and not synapse["paid"]
    precision = outcome_groups([p for name in ("precision_act", "precision_diffusion")
                                for p in pair_verdicts(load_sweep(results / name), reps=300)])
    assert precision["tied"] == ["bf16 autocast (precision_act and precision_diffusion)"]
    gating = outcome_groups([p for name in ("gating", "screen_gating")
                             for p in pair_verdicts(load_sweep(results / name), reps=300)])
    assert gating["free"] == ["sigmoid gating (gating and screen_gating)"] and gating["tied"] == gating["free"]


def test_run_directories_read_as_sweep_variant_and_seeds():
    """A caption names runs by sweep, variant and seeds, not by their full paths."""
    from report_gen.report.format import runs_label

    runs = [f"studies/ctm_act_pusht/results/cpu/halting_pe3/variants/predicted_error/seed{k}" for k in (0, 1, 2)]
    assert runs_label(runs) == "halting_pe3, predicted_error, seeds 0-2"
    assert runs_label(["r/a/variants/v/seed0", "r/a/variants/v/seed2", "r/b/variants/w/seed1"]) == \
        "a, v, seeds 0, 2; b, w, seed 1"
    assert runs_label(["studies/ctm_act_pusht/weights/ctm_act_unet"]) == "weights/ctm_act_unet"


def test_verdict_clauses_group_the_baselines_by_verdict():
    from report_gen.report.headline import clause

    groups = {"better": ["ACT", "ACT (4 decoder layers)"], "tie": ["Diffusion Policy"], "worse": []}
    assert clause("success_rate", groups) == ("succeeds more often than ACT and ACT (4 decoder layers) and is tied "
                                              "on success with Diffusion Policy")
    assert clause("jerk", {"worse": ["ACT"]}) == "is rougher than ACT"
    assert clause("jerk", {}) == ""


def test_a_rivals_outcome_reads_per_metric():
    from report_gen.report.questions import _outcome_words

    assert _outcome_words({"success": "tie", "coverage": "tie"}) == "at tied success and coverage"
    assert _outcome_words({"success": "better", "coverage": "tie"}) == "and better on success, tied on coverage"
    assert _outcome_words({"success": "worse", "coverage": "better"}) == "and better on coverage and worse on success"
    assert _outcome_words({"success": None, "coverage": "worse"}) == "and worse on coverage"


def test_abstract_and_conclusion_state_the_paired_verdicts_of_the_results(sweeps, tmp_path):
    """The abstract's and the Conclusion's outcome words are the headline's paired verdicts (the ones the Results
    list), for the best CTM-ACT configuration against every baseline."""
    from report_gen.report.headline import headline_facts
    from report_gen.report.inputs import load_sweep

    facts = headline_facts(load_sweep(sweeps / "headline"))
    assert facts["ctm"] == "CTM-ACT" and [a["name"] for a in facts["against"]] == ["ACT"]
    verdicts = facts["against"][0]["verdict"]
    assert set(verdicts) >= {"success_rate", "avg_max_coverage"} and set(verdicts.values()) <= {"better", "tie",
                                                                                                   "worse"}
    tex = " ".join(build_report([sweeps / "headline"], tmp_path, compile=False).read_text().split())
    abstract = tex[tex.index(r"\begin{abstract}"):tex.index(r"\end{abstract}")]
    conclusion = tex[tex.index(r"\section{Conclusion}"):tex.index(r"\section{Future Work}")]
    for metric in ("success_rate", "avg_max_coverage", "jerk"):
        assert f"it {facts['clauses'][metric]}" in abstract
    won = verdicts["success_rate"] == "better"
    assert ("thinking in ticks pays in success" in conclusion) == won
    assert ("thinking in ticks does not pay in success" in conclusion) == (not won)


def test_the_headline_ctm_act_is_fixed_by_rule_not_by_its_benchmark_scores():
    """The row that speaks for CTM-ACT is the check-seed-screened configuration, else the default, else the sweep's
    first CTM-ACT row, whatever the benchmark scores (choosing the best-scoring row would tune on the benchmark)."""
    from report_gen.report.headline import headline_ctm

    assert headline_ctm(["ctm_act_unet", "ctm_act_best"])[0] == "ctm_act_best"
    assert headline_ctm(["ctm_act_tick_sync", "ctm_act_unet", "ctm_act_mlp"])[0] == "ctm_act_unet"
    assert headline_ctm(["ctm_act_mlp", "ctm_act_tick_sync"]) == ("ctm_act_mlp",
                                                                   "the sweep's first CTM-ACT configuration")
    assert headline_ctm([]) is None


def test_first_seeds_tilt_compares_the_first_starts_with_the_rest_on_the_same_weights(sweeps):
    """How much the quick protocol's first starts flatter a policy: mean max coverage over the first starts minus
    over the others, every training seed pooled, read from the runs' episodes; nothing for too few starts."""
    from polibench.sweep.aggregate import load_episodes
    from report_gen.report.headline import first_seeds_tilt
    from report_gen.report.inputs import load_sweep

    sweep = load_sweep(sweeps / "headline")
    n = results(sweeps / "headline")["variants"][0]["n_episodes"] // 2  # start seeds per training seed
    tilt = first_seeds_tilt(sweep, first=1)
    assert [t["name"] for t in tilt] == ["ACT", "CTM-ACT"] and all(t["others"] == str(n - 1) for t in tilt)
    episodes = [sorted(load_episodes(sweeps / "headline" / "variants" / "act" / f"seed{k}"), key=lambda e: e["seed"])
                for k in (0, 1)]
    head = sum(e[0]["max_coverage"] for e in episodes) / 2
    rest = sum(x["max_coverage"] for e in episodes for x in e[1:]) / (2 * (n - 1))
    assert tilt[0]["difference"] == f"{head - rest:+.3f}"
    assert first_seeds_tilt(sweep, first=n) == []


def _without_variant(sweep_dir, variant, tmp_path):
    """A copy of a committed sweep without one variant (its runs, its results row and its sweep.json entry)."""
    copy = tmp_path / sweep_dir.name
    shutil.copytree(sweep_dir, copy)
    shutil.rmtree(copy / "variants" / variant)
    for name in ("results.json", "sweep.json"):
        doc = json.loads((copy / name).read_text())
        variants = doc["variants"]
        doc["variants"] = ([v for v in variants if v["name"] != variant] if isinstance(variants, list)
                           else {k: v for k, v in variants.items() if k != variant})
        (copy / name).write_text(json.dumps(doc))
    return copy


def test_the_budget_shift_follows_one_ctm_configuration_across_budgets(tmp_path):
    """On the committed headlines: each budget's verdict of the same CTM-ACT configuration against each baseline
    is the paired verdict of the sweep that evaluated both on the most episodes, and the shift lists exactly the
    verdicts that differ between the smallest and the largest budget."""
    from report_gen.report.budget_shift import budget_shift
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import pair_verdicts

    cpu = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu"
    six, six_500 = load_sweep(cpu / "headline"), load_sweep(cpu / "headline_6k_500")
    long = load_sweep(cpu / "headline_long")
    shift = budget_shift([six, six_500, long])
    assert shift["ctm"] == "CTM-ACT (unet)" and (shift["first"], shift["last"]) == (6000, 30000)
    def verdicts(sweep, base):
        pair, = pair_verdicts(sweep, [("ctm_act_unet", base)])
        return {m: pair.verdict(m) for m in ("success_rate", "avg_max_coverage", "jerk")}

    # every baseline of the largest budget, at each budget where one of its sweeps has it (the capacity-matched
    # ACT only at 30000 steps)
    at_long = [v["name"] for v in long.variants if long.policy(v["name"]) in ("act", "diffusion")]
    first, last = (row["verdicts"] for row in shift["rows"])
    # both baselines from the 500-episode sweep, not the 50-episode one that also has them
    assert first == {"act": verdicts(six_500, "act"), "diffusion": verdicts(six_500, "diffusion")}
    assert verdicts(six, "diffusion") != verdicts(six_500, "diffusion")  # so the choice of sweep is tested
    assert last == {b: verdicts(long, b) for b in at_long} and {"act", "diffusion"} <= set(at_long)
    # each comparison named once, for all baselines where one sweep gives every verdict of the budget, and per
    # baseline where they come from two (Diffusion Policy left out of the 500-episode sweep)
    assert shift["rows"][0]["sentence"].endswith("(all from headline_6k_500, 3 seeds x 500 episodes).")
    mixed = budget_shift([six, load_sweep(_without_variant(cpu / "headline_6k_500", "diffusion", tmp_path)), long])
    assert ("(against ACT: headline_6k_500, 3 seeds x 500 episodes; Diffusion Policy: headline, 3 seeds x 50 "
            "episodes)") in mixed["rows"][0]["sentence"]
    assert shift["rows"][1]["sentence"].endswith("(all from headline_long, 3 seeds x 500 episodes).")
    changed = {(c["baseline"], c["metric"]) for c in shift["changes"]}
    assert changed == {(name, m) for b, name in (("act", "ACT"), ("diffusion", "Diffusion Policy"))
                       for m in first[b] if first[b][m] != last[b][m]}
    assert budget_shift([six, six_500]) is None  # one budget twice is no budget axis


def test_a_reference_is_set_beside_our_runs_of_its_own_budget_and_episodes(tmp_path):
    """LeRobot's 6000-step runs are checked against our 6000-step runs on their own 50 starts, not against the
    longer headline; the captions say which runs, and call times name the batch the evaluation stepped."""
    cpu = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu"
    long = cpu / "headline_long"
    tex = build_report([long, cpu / "headline", cpu / "headline_6k_500", cpu / "lerobot_act"], tmp_path / "out",
                       compile=False).read_text()
    tex = " ".join(unescape(tex).replace(r"\allowbreak{}", "").split())
    assert "our ACT (runs of headline) beside LeRobot ACT" in tex and "runs of headline_long" not in tex
    assert "time per model call (on a batch of 50 environments stepped together, one thread" in tex
    assert "time per model call (on one episode at a time, one thread" in tex
    assert "From 6000 to 30000 steps, the verdicts of CTM-ACT (unet)" in tex


def test_smoothness_against_another_policy_is_said_apart_from_the_outcome_groups():
    """The long-budget ensembling screen is paired (its verdicts.json) with chunked CTM-ACT and with two ACT call
    schedules: the question's outcome groups judge it against CTM-ACT only, where it is smoother and worse, and the
    rival sentences against each ACT, with the outcome words the paired verdicts give."""
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import assign, pair_verdicts, question_flags

    sweep = load_sweep(REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "inference_ensemble_long")
    assert [q.key for q, _ in assign([sweep])] == ["state"]
    pairs = pair_verdicts(sweep, reps=300)
    assert [p.base_policy for p in pairs] == ["ctm_act", "act", "act"]
    flags = question_flags("state", {sweep.path.name: pairs})
    own, = [p for p in pairs if p.base_policy == "ctm_act"]
    name = own.name(own.variant)
    assert flags["outcome"]["paid"] == ([name] if own.verdict("jerk") == "better" and
                                        "worse" in (own.verdict("success_rate"), own.verdict("avg_max_coverage"))
                                        else [])
    assert all(name not in flags["outcome"][k] for k in ("better", "free"))  # ACT's lower outcome does not count
    assert [(s["jerk"], s["against_act"]) for s in flags["swaps"]] == [(p.verdict("jerk"), p.base_policy == "act")
                                                                        for p in pairs]
    both = {("better", "better"): "and better on success and coverage",
            ("worse", "worse"): "and worse on success and coverage"}
    # the committed verdicts: worse than chunked CTM-ACT on both, better than each ACT on both
    assert [s["outcome_words"] for s in flags["swaps"]] == [
        both[p.verdict("success_rate"), p.verdict("avg_max_coverage")] for p in pairs]


def test_a_reevaluated_comparison_names_the_commands_that_made_it(tmp_path):
    """A `polibench reevaluate` sweep records a command per variant, not one for the sweep: the report prints each
    of them under the comparison instead of a placeholder."""
    cpu = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu"
    tex = build_report([cpu / "headline", cpu / "headline_6k_500"], tmp_path / "r", compile=False).read_text()
    tex = " ".join(unescape(tex).replace(r"\allowbreak{}", "").split())
    for variant in ("act", "ctm_act_unet"):
        assert f"polibench reevaluate --variant {variant} --runs runs/precision_{variant}/variants/bf16" in tex
    assert "polibench ablate ..." not in tex


def test_the_headline_says_how_much_of_the_lead_over_act_survives_the_capacity_matched_act(tmp_path):
    """With both ACTs in the long headline, the abstract, Discussion and Conclusion give the share of CTM-ACT's lead
    over the standard ACT that it keeps against the ACT of its parameter count, from the paired differences."""
    from report_gen.report.headline import headline_facts
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import pair_verdicts

    long = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "headline_long"
    facts = headline_facts(load_sweep(long))
    ctm = {"CTM-ACT (screened)": "ctm_act_best", "CTM-ACT (unet)": "ctm_act_unet"}[facts["ctm"]]
    small, big = (pair_verdicts(load_sweep(long), [(ctm, b)])[0].results for b in ("act", "act_capacity"))
    cap = facts["capacity"]
    assert [x["name"] for x in cap["metrics"]] == [n for m, n in (("success_rate", "success"),
                                                                  ("avg_max_coverage", "coverage"))
                                                   if small[m]["difference"] > 0]
    kept = {x["name"]: int(x["kept"]) for x in cap["metrics"]}
    for m, name in (("success_rate", "success"), ("avg_max_coverage", "coverage")):
        share = max(big[m]["difference"], 0) / small[m]["difference"]
        assert kept[name] == round(100 * share)
    assert cap["most"] == all(k < 50 for k in kept.values())
    tex = " ".join(unescape(build_report([long], tmp_path / "r", compile=False).read_text()).split())
    first = cap["metrics"][0]
    phrase = f"keeps {first['kept']}\\% of its lead in success ({first['over_capacity']} against"
    abstract = tex[tex.index(r"\begin{abstract}"):tex.index(r"\end{abstract}")]
    assert phrase in abstract and phrase in tex[tex.index(r"\section{Discussion}"):tex.index(r"\section{Conclusion}")]
    assert phrase in tex[tex.index(r"\section{Conclusion}"):]


def test_the_screened_headline_row_is_set_against_the_default_it_replaced(tmp_path):
    """With the screened configuration and the default in one headline, the abstract and the Conclusion say how the
    row the rule picked fares against the row it passed over, in the words of their paired verdicts."""
    from report_gen.report.headline import headline_facts
    from report_gen.report.inputs import load_sweep
    from report_gen.report.questions import pair_verdicts

    long = REPO / "studies" / "ctm_act_pusht" / "results" / "cpu" / "headline_long"
    facts = headline_facts(load_sweep(long))
    passed, = facts["passed_over"]
    pair, = pair_verdicts(load_sweep(long), [("ctm_act_best", "ctm_act_unet")])
    verdicts = {m: pair.verdict(m) for m in ("success_rate", "avg_max_coverage", "jerk")}
    assert facts["ctm"] == "CTM-ACT (screened)" and passed["name"] == "CTM-ACT (unet)"
    assert ("is tied on success" in passed["words"]) == (verdicts["success_rate"] == "tie")
    assert ("is rougher" in passed["words"]) == (verdicts["jerk"] == "worse")
    outcome = {verdicts["success_rate"], verdicts["avg_max_coverage"]} - {"tie"}
    assert passed["outcome"] == (outcome.pop() if len(outcome) == 1 else "mixed" if outcome else "tie")
    tex = " ".join(unescape(build_report([long], tmp_path / "r", compile=False).read_text()).split())
    abstract = tex[tex.index(r"\begin{abstract}"):tex.index(r"\end{abstract}")]
    assert f"Against the default configuration, CTM-ACT (unet), it {passed['words']}." in abstract
    conclusion = tex[tex.index(r"\section{Conclusion}"):tex.index(r"\section{Future Work}")]
    assert f"CTM-ACT (screened) {passed['words']}: the parts the check-seed screens chose" in conclusion
