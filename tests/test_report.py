"""`report_gen.report`: a real PDF from tiny real sweeps (policy axis as the headline, synapse axis as an ablation),
checked through pdftotext against results.json; and clear errors for bad inputs."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from polibench.cli import main as polibench_main
from polibench.data.download import ENV_VAR
from report_gen.report import REPORT_NAME, ReportError, add_arguments, build_report, main
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
needs_tex = pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
                               reason="latexmk/pdftotext not installed (apt-get install latexmk poppler-utils "
                                      "texlive-latex-base texlive-latex-recommended texlive-latex-extra "
                                      "texlive-fonts-recommended); CI installs them")


def ablate(out, axis: str, values: str, seeds: int, base: str = "gin/ctm_act_unet.gin") -> None:
    args = ["ablate", "--axis", axis, "--values", values, "--base", str(REPO / base), "--seeds", str(seeds),
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
    pdf = build_report([sweeps / "headline", sweeps / "synapse", single], out, viz_dirs=[viz_dir])
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


@needs_tex
def test_table_numbers_equal_results_json(report, sweeps):
    lines = [" ".join(line.split()) for line in pdf_text(report).splitlines()]
    for sweep in ("headline", "synapse"):
        for v in results(sweeps / sweep)["variants"]:
            rows = [line for line in lines if line.split(" ")[0] == v["name"]]
            expected = [interval(m, v["metrics"][m]) for m in ("success_rate", "avg_max_coverage", "avg_max_reward")]
            assert any(all(cell in row for cell in expected) for row in rows), (v["name"], expected, rows)
            latency = interval("latency_per_call_ms", v["metrics"]["latency_per_call_ms"])
            assert any(latency in row for row in rows), (v["name"], latency, rows)


@needs_tex
def test_prose_states_the_measured_outcome(report, sweeps):
    text = " ".join(pdf_text(report).split())
    variants = {v["name"]: v["metrics"] for v in results(sweeps / "headline")["variants"]}
    ratio = variants["ctm_act"]["latency_per_call_ms"]["mean"] / variants["act"]["latency_per_call_ms"]["mean"]
    assert f"{ratio:.1f}x the" in text
    coverage = {n: m["avg_max_coverage"] for n, m in variants.items()}
    best = max(coverage, key=lambda n: coverage[n]["mean"])
    other = next(n for n in coverage if n != best)
    tied = coverage[other]["vs_best"] == "tie"
    assert ("no variant is shown to be better" in text) == tied
    assert (f"{best} has the best mean, {interval('avg_max_coverage', coverage[best])}" in text) == (not tied)


@needs_tex
def test_figures_are_embedded(report):
    tex = (report.parent / "build" / f"{REPORT_NAME}.tex").read_text()
    for name in ("headline_bars.pdf", "headline_scatter.pdf", "ablation0_bars.pdf", "runs_bars.pdf", "viz000.png"):
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
    assert "No sweep over the policy axis was given" in tex and r"\section{Ablations}" in tex
    assert "curve\\_with\\_underscores \\& 5\\%" in tex
    assert not (tmp_path / f"{REPORT_NAME}.pdf").exists()


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
