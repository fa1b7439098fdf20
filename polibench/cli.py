"""The `polibench` command: list components, run (train + evaluate) a gin config, re-evaluate a run."""

from __future__ import annotations

import argparse
import errno
import importlib
import linecache
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import gin
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from polibench.console import console, err_console, metrics_table
from polibench.interrupts import sigterm_as_interrupt
from polibench.rundir import EVAL_SUBDIR

#: What `polibench run -h` (and a `run` without a config) shows first.
RUN_EXAMPLE = """examples:
  polibench run act include/quick --out runs/quick_act    # ACT, a one-minute budget
  polibench run ctm_act_unet --out runs/ctm_act             # CTM-ACT at the CPU budget
  polibench run my_policy.gin --gin_param 'polibench.TrainConfig.steps = 2000'"""
EXIT_USER_ERROR = 2
#: Writes the machine refused, not bugs: a read-only file system, a full disk or quota, a file-size limit.
WRITE_ERRNOS = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
EXIT_INTERRUPTED = 130
PIPED_WIDTH = 160


def _cmd_list(args: argparse.Namespace) -> int:
    from polibench import registry

    every = registry.kinds()
    selected = [args.kind] if args.kind else list(every)
    # piped output (grep, files) gets whole names, which are meant to be copied; a terminal keeps its width and
    # drops the module column when narrow, so the descriptions keep room
    out = console if console.is_terminal else Console(width=PIPED_WIDTH)
    with_module = out.width >= PIPED_WIDTH * 3 // 4
    for kind in selected:
        items = registry.entries(kind)
        table = Table(title=f"{kind}: {every[kind]}", title_justify="left")
        table.add_column("name", style="bold cyan", no_wrap=True)
        table.add_column("gin name", no_wrap=True)
        table.add_column("description")
        if with_module:
            table.add_column("module", style="dim", no_wrap=True)
        for e in items:  # a renamed component's former names (still accepted) are named in its row, not listed
            doc = f"{e.doc} (formerly {', '.join(e.formerly)})" if e.formerly else e.doc
            table.add_row(e.name, f"{e.kind}.{e.name}", doc, *([e.module] if with_module else []))
        if not items:
            table.add_row("[dim](none yet)", "", "", *([""] if with_module else []))
        out.print(table)
    return 0


def _cmd_configs(args: argparse.Namespace) -> int:
    from polibench.config import shipped_configs

    out = console if console.is_terminal else Console(width=PIPED_WIDTH)
    table = Table(title="shipped configs: `polibench run NAME` (a file path works too)", title_justify="left")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("what it sets")
    for name, summary in shipped_configs().items():
        table.add_row(name, summary)
    out.print(table)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from polibench.config import parse
    from polibench.experiment import run

    if not args.gin_files:
        err_console.print("polibench run needs a gin config (a file, or a shipped config: `polibench configs`).\n"
                          + RUN_EXAMPLE, highlight=False)
        return EXIT_USER_ERROR
    params = list(args.gin_param)
    if args.data:
        params.append(f"data_source.pusht_zarr.path = '{Path(args.data).resolve()}'")
    if args.episodes is not None:
        params.append(f"polibench.EvalConfig.episodes = {args.episodes}")
    parse(args.gin_files, params)
    out = Path(args.out) if args.out else Path("runs") / Path(args.gin_files[0]).stem
    run(out, resume=args.resume, progress=not args.no_progress)
    console.print(f"[green]run directory: {out}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from polibench.experiment import reevaluate

    given = {"episodes": args.episodes, "seed0": args.seed0, "n_envs": args.n_envs, "max_steps": args.max_steps,
             "video": args.video}
    overrides = {k: v for k, v in given.items() if v is not None}  # the rest: the run's saved protocol
    done = reevaluate(Path(args.run_dir), overrides, Path(args.out) if args.out else None, args.gin_param,
                      args.device, progress=not args.no_progress, force=args.force)
    title = f"{args.run_dir}: {done.config.episodes} episodes from seed {done.config.seed0}"
    console.print(metrics_table(done.summary, title=title))
    console.print(f"[green]written to {done.out_dir}")
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    from polibench.io import read_json, write_text
    from polibench.rundir import METRICS_FILE
    from polibench.summary import expand_inputs, load_row, markdown_table

    runs = expand_inputs([Path(d) for d in args.run_dirs], args.eval_subdir)
    for run in runs:  # a file that is not valid JSON is named here, not as a bare decoder error
        for name in ("run.json", METRICS_FILE, f"{args.eval_subdir}/{METRICS_FILE}", "../run.json"):
            if (run / name).is_file():
                read_json(run / name)
    table = markdown_table([load_row(d, args.eval_subdir) for d in runs])
    if args.out:
        write_text(args.out, table)
    console.print(table, markup=False, highlight=False, soft_wrap=True)
    return 0


def _cmd_ablate(args: argparse.Namespace) -> int:
    from polibench.sweep.ablate import SweepSpec, ablate
    from polibench.sweep.axes import split_values, variant_name
    from polibench.sweep.executors import make_executor

    executor = make_executor(args.executor, args.workers, args.ray_address)
    out = Path(args.out) if args.out else Path("sweeps") / variant_name(args.axis)
    spec = SweepSpec(args.axis, split_values(args.values) if args.values else None, Path(args.base), args.seeds,
                     list(args.gin_param), out, [Path(f) for f in args.include])
    ablate(spec, executor, progress=not args.no_progress, finished_only=args.finished_only)
    console.print(f"[green]sweep directory: {out}")
    return 0


class _SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser; a delegated one (``module`` set) imports its module, which adds the arguments and the
    work, only when that subcommand is parsed: `polibench --help` and the other commands skip the report, figure
    and statistics imports."""

    def __init__(self, *args: Any, module: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._module = module

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        if self._module is not None:
            owner = importlib.import_module(self._module)
            owner.add_arguments(self)
            self.set_defaults(func=owner.main)
            self._module = None
        return super().parse_known_args(args, namespace)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polibench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_SubcommandParser)

    p = sub.add_parser("list", help="registered components, grouped by kind")
    p.add_argument("kind", nargs="?", help="only this kind (e.g. synapse)")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("configs", help="the shipped gin configs, by name, with what each sets")
    p.set_defaults(func=_cmd_configs)

    p = sub.add_parser("run", help="train and evaluate the policy a gin config assembles",
                       epilog=RUN_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gin_files", nargs="*", help="gin files or shipped config names (`polibench configs`), parsed "
                                                "in order: later bindings win")
    p.add_argument("--gin_param", "--gin-param", action="append", default=[], help="extra binding, e.g. 'X.y = 3'")
    p.add_argument("--out", help="run directory (default runs/<first config's name>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--data", help="path to pusht_cchi_v7_replay.zarr (default: $POLIBENCH_PUSHT_ZARR or the cache)")
    p.add_argument("--episodes", type=int, help="evaluation episodes after training (default: the config's "
                                                "polibench.EvalConfig.episodes)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs, CI)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("eval", help="re-evaluate a saved run",
                       description="Evaluate a trained run's weights again. Unset options keep the run's saved "
                                   "evaluation protocol (its config.gin: polibench.EvalConfig).")
    p.add_argument("run_dir", help="a run directory with model.safetensors")
    p.add_argument("--episodes", type=int, help="episodes to run (default: the run's saved setting)")
    p.add_argument("--seed0", type=int, help="seed of the first episode; episode i uses seed0 + i (default: the run's "
                                             "saved setting)")
    p.add_argument("--n-envs", type=int, help="environments stepped as one batch; 1 measures the protocol's batch-1 "
                                              "latency (default: the run's saved setting)")
    p.add_argument("--max-steps", type=int, help="step limit of an episode (default: the run's saved setting)")
    p.add_argument("--video", action="store_true", default=None, help="save one rollout video per episode")
    p.add_argument("--device", default="auto", help="where the policy runs: auto (the GPU when there is one), cpu, "
                                                    "cuda or cuda:N")
    p.add_argument("--gin_param", "--gin-param", action="append", default=[],
                   help="inference-time override, e.g. 'policy.diffusion.num_inference_steps = 10'")
    p.add_argument("--out", help="where to write metrics (default RUN_DIR/eval_seed<S>_n<N>)")
    p.add_argument("--force", action="store_true", help="replace an evaluation already in --out (e.g. RUN_DIR/eval)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("table", help="markdown results table of run directories (for README and reports)")
    p.add_argument("run_dirs", nargs="+", help="run directories, evaluation directories inside runs, or sweep "
                                               "directories (their finished runs)")
    p.add_argument("--eval-subdir", default=EVAL_SUBDIR, help="which evaluation of each run (default: the run's own)")
    p.add_argument("--out", help="also write the table to this file")
    p.set_defaults(func=_cmd_table)

    p = sub.add_parser("ablate", help="train and evaluate one variant per value of a component kind or binding")
    p.add_argument("--axis", required=True,
                   help="a component kind (synapse, gating, encoder, loss, ...), 'policy' (whole configs), or a "
                        "binding such as policy.ctm_act.ticks")
    p.add_argument("--values", help="comma-separated values (default: every registered component of the kind): "
                                    "component names, '+'-joined names for list parameters, or gin literals")
    p.add_argument("--base", default="gin/ctm_act_unet.gin", help="config every variant starts from")
    p.add_argument("--seeds", type=int, default=1, help="training seeds per variant (0 .. K-1)")
    p.add_argument("--gin_param", "--gin-param", action="append", default=[],
                   help="extra binding for every run, e.g. a budget: 'polibench.TrainConfig.steps = 1000'")
    p.add_argument("--include", action="append", default=[], metavar="GIN_FILE",
                   help="gin file parsed after every variant's config, e.g. a budget or an evaluation protocol: "
                        "--include gin/include/budget_cpu_long.gin --include gin/include/eval_headline.gin")
    p.add_argument("--out", help="sweep directory (default sweeps/<axis>); rerunning resumes it")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--workers", type=int, default=1, help="local executor: runs side by side in processes")
    p.add_argument("--ray-address", help="Ray cluster to run on (default: a local Ray instance)")
    p.add_argument("--finished-only", action="store_true",
                   help="train nothing: gather the runs finished so far into results marked partial (a sweep that "
                        "spans sessions)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    p.set_defaults(func=_cmd_ablate)

    data = sub.add_parser("data", help="dataset conversions").add_subparsers(dest="data_command", required=True)
    groups = {None: sub, "data": data}
    for group, name, module, text in _DELEGATED:
        groups[group].add_parser(name, help=text, module=module)
    return parser


#: Subcommands whose arguments and work live with the feature they drive (each module: add_arguments, main), as
#: (parent command or None, name, module, help).
_DELEGATED: tuple[tuple[str | None, str, str, str], ...] = (
    (None, "verdicts", "polibench.sweep.verdicts",
     "P(variant better than each baseline) with stratified-bootstrap intervals over training and start seeds"),
    (None, "calibrate", "polibench.ctm.calibration",
     "set a CTM-ACT halting budget on the run's validation windows for a tolerance in error"),
    (None, "ablate-inference", "polibench.sweep.inference",
     "re-evaluate trained runs once per value of an inference-time gin binding (e.g. halting on/off)"),
    (None, "reevaluate", "polibench.sweep.reevaluate",
     "evaluate trained runs again under one protocol (e.g. 500 episodes), gathered as a sweep, one variant a call"),
    (None, "viz", "polibench.viz.run", "figures of a trained run: tick traces, attention, adaptive compute, trajectories"),
    ("data", "export-lerobot", "polibench.data.lerobot_export", "write the Push-T zarr data as a LeRobotDataset"),
)


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean bad input or state, reported in one line instead of a traceback."""
    from polibench.config import ConfigError
    from polibench.data.download import DatasetNotFoundError
    from polibench.data.zarr_reader import DataFormatError
    from polibench.device import DeviceError
    from polibench.interop.lerobot import LeRobotMissingError
    from polibench.io import InputFileError, JSONFileError
    from polibench.locking import DirectoryLockedError
    from polibench.registry import DuplicateComponentError, UnknownComponentError
    from polibench.rundir import RunDirError
    from polibench.sweep.axes import AxisError
    from polibench.training.checkpoint import CheckpointError
    from polibench.training.trainer import TrainingDiverged

    return (ConfigError, DataFormatError, DatasetNotFoundError, DeviceError, LeRobotMissingError, JSONFileError,
            InputFileError, DirectoryLockedError, UnknownComponentError, DuplicateComponentError, RunDirError,
            AxisError, CheckpointError, TrainingDiverged)


_REPO = Path(__file__).resolve().parent.parent
#: Where an exception raised on purpose, with a worded message, comes from: our packages, and gin (config errors).
_OWN_SOURCES = (_REPO / "polibench", Path(gin.__file__).resolve().parent)


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` means bad input or state (one line) rather than a bug (the traceback stays).

    Our error classes are user errors. So is a ValueError, TypeError, LookupError or RuntimeError that our code (or
    gin, for configs) raised on purpose with a ``raise`` statement, such as a component's argument check. The same
    classes raised anywhere else (inside torch or numpy, or by Python on one of our lines) are bugs."""
    if isinstance(exc, _user_errors()):
        return True
    if not isinstance(exc, (ValueError, TypeError, LookupError, RuntimeError)) or isinstance(exc, NotImplementedError):
        return False
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    source = Path(tb.tb_frame.f_code.co_filename).resolve()
    line = linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno).strip()
    return any(source.is_relative_to(own) for own in _OWN_SOURCES) and line.startswith("raise ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    # INFO from polibench's modules (e.g. which tensors init_from loaded) reaches the terminal; other packages
    # stay at WARNING.
    logging.basicConfig(level=logging.WARNING, handlers=[RichHandler(console=err_console, show_path=False)])
    logging.getLogger("polibench").setLevel(logging.INFO)
    func: Callable[[argparse.Namespace], int] = args.func
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over a file-size limit, a write fails (EFBIG), said below
    try:
        with sigterm_as_interrupt():
            return func(args)
    except KeyboardInterrupt as exc:
        err_console.print(f"[yellow]{escape(str(exc) or 'interrupted')}", highlight=False)
        return EXIT_INTERRUPTED
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        what = escape(f"cannot write {exc.filename or 'a file'}: {exc.strerror}")
        err_console.print(f"[red]error:[/red] {what}. Make room (or choose another --out); an interrupted training "
                          "run continues with --resume", highlight=False)
        return EXIT_USER_ERROR
    except Exception as exc:
        if not is_user_error(exc):
            raise
        err_console.print(f"[red]error:[/red] {escape(f'{type(exc).__name__}: {exc}')}", highlight=False)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
