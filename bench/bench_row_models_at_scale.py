"""The row models at catalogue scale (issue #25): `train textcat` and `train price` on the real
BigBasket rows and on N rows made from them, each training's peak memory and time, and what
each model scores on the real held-out rows, side by side.

    python bench/bench_row_models_at_scale.py [--rows 1000000] [--seed 0] [--out DIR] [--code REV] [--cap-gb 12]
    python bench/bench_row_models_at_scale.py --smoke      # a few hundred rows: runs end to end

The N-row catalogue is `python -m catalogist_training.scale_rows` (perturbed copies of the
train and validation products; its docstring says how, and how the held-out rows are kept from
having twins in training), written once into --out and reused. Each training is a process of
its own: its peak is its own VmHWM (exec starts a new one; a child's ru_maxrss would start at
its parent's), reported by the process itself as it exits and polled meanwhile for --cap-gb,
which stops a training that passes it (the row then says so) before it takes the machine down.
Wall time moves with whatever else runs; CPU time (user + system) much less.

Every model is scored by this checkout's `catalogist evaluate` on the real file: the rows whose
product it never learnt, which for both catalogues are the held-out split (no copy is made of a
held-out row). The text categorizer is evaluated without its scikit-learn baseline, which on a
million rows would take hours. `--code REV` trains with the code of a git revision instead (from
`git archive`), so one change's before and after are measured by the same bench and scorer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path

from catalogist_training.scale_rows import small_catalogue

REPO = Path(__file__).resolve().parents[1]
BIGBASKET = REPO.parent / "shared" / "datasets" / "bigbasket" / "products.csv"
PACKAGES = ("functions", "training", "infra")
SMOKE_REAL_ROWS, SMOKE_ROWS = 300, 900
POLL_SECONDS = 0.2

# run in the training's own process: the command, then its own peak as the last line of stdout
DRIVER = """
import json, sys
from catalogist_training import vendor_cli
code = vendor_cli.main(sys.argv[1:])
status = open("/proc/self/status").read()
print(json.dumps({"vmhwm_kb": int(status.split("VmHWM:")[1].split()[0])}))
sys.exit(code)
"""


@dataclass
class Run:
    peak_gb: float
    wall_s: float
    cpu_s: float
    stopped_at_cap: bool = False
    failed: str = ""


def measured(command: list[str], code: list[Path], log: Path, cap_gb: float) -> Run:
    """`catalogist` `command` in a process of its own with `code` first on its path."""
    # the held-out rows are what the bench scores on: a switch left on in the caller's
    # environment must not make training learn them (older code has no --no-… flag to say so)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_INCLUDE_TEST_SPLIT")},
        "PYTHONPATH": os.pathsep.join(str(path) for path in code),
    }
    started, before = time.perf_counter(), os.times()
    with log.open("w") as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", DRIVER, *command], stdout=subprocess.PIPE, stderr=errors, env=environment, text=True
        )
        polled, stopped = [0], [False]

        def watch() -> None:  # the cap, and a peak for a training that never reports one
            while child.poll() is None:
                try:
                    status = Path(f"/proc/{child.pid}/status").read_text()
                    polled[0] = max(polled[0], int(status.split("VmHWM:")[1].split()[0]))
                    if int(status.split("VmRSS:")[1].split()[0]) > cap_gb * 1e6:
                        stopped[0] = True
                        child.kill()
                except (OSError, IndexError):
                    pass
                time.sleep(POLL_SECONDS)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        output, _ = child.communicate()
        watcher.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    lines = output.strip().splitlines()
    try:
        reported = json.loads(lines[-1])["vmhwm_kb"] if lines else 0
    except (ValueError, KeyError):
        reported = 0
    run = Run(max(reported, polled[0]) / 1e6, time.perf_counter() - started, cpu, stopped[0])
    if child.returncode and not run.stopped_at_cap:
        run.failed = f"exit {child.returncode}: {log.read_text()[-400:]}"
    return run


def revision_code(revision: str, into: Path) -> list[Path]:
    """The packages of a git revision, unpacked from `git archive`."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, *PACKAGES], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return [into / package for package in PACKAGES]


def catalogue(data: Path, rows: int, seed: int, out: Path) -> tuple[Path, float | None]:
    """The N-row catalogue made from `data` by this checkout's generator, and the seconds it
    took (None when an earlier run's file was reused)."""
    path = out / f"rows-{rows}-seed{seed}-{data.stem}.csv"
    if path.exists():
        return path, None
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    command = ["-m", "catalogist_training.scale_rows", "--data", str(data), "--rows", str(rows), "--out", str(partial)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in PACKAGES)}
    subprocess.run([sys.executable, *command], check=True, env=environment, stdout=subprocess.DEVNULL)
    partial.rename(path)
    return path, time.perf_counter() - started


def held_out(kind: str, model: Path, real: Path, out: Path) -> dict:
    """This checkout's `catalogist evaluate` of `model` on the real rows it never learnt."""
    command = ["evaluate", kind, "--model", str(model), "--data", str(real), "--out", str(out)]
    if kind == "textcat":
        command.append("--no-baseline")
    done = measured(command, [REPO / p for p in PACKAGES], out.with_suffix(".log"), cap_gb=float("inf"))
    if done.failed:
        raise SystemExit(f"evaluate {kind} of {model} failed: {done.failed}")
    return json.loads((out / "metrics.json").read_text())


def figures(kind: str, metrics: dict) -> str:
    if kind == "textcat":
        accuracy = metrics["accuracy_by_level"]
        precision = metrics.get("auto_accept_precision")
        return (
            f"category {accuracy['category']:.3f}  sub_category {accuracy['sub_category']:.3f}  "
            f"type {accuracy['type']:.3f}  leaf decided {metrics['auto_accept_rate']:.1%}"
            + (f" at {precision:.1%}" if precision is not None else "")
        )
    text, listed = metrics["text"], metrics["list_price"]
    return (
        f"rmsle {text['rmsle']:.3f}  within ±20% {text['within_20pct']:.3f}  "
        f"P10–P90 {text['interval_coverage']:.3f}  with list price rmsle {listed['rmsle']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=BIGBASKET, help="the real catalogue (BigBasket's products.csv)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated catalogue")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed")
    parser.add_argument(
        "--out", type=Path, help="keep catalogue, models and reports here (default: a temporary folder)"
    )
    parser.add_argument("--code", help="train with the code of this git revision (default: this checkout)")
    parser.add_argument("--cap-gb", type=float, default=12.0, help="stop a training whose memory passes this")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_REAL_ROWS} real rows and {SMOKE_ROWS} in all")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no catalogue at {args.data}: give --data (BigBasket's products.csv)")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        real = small_catalogue(args.data, SMOKE_REAL_ROWS, out / "smoke-real.csv") if args.smoke else args.data
        rows = SMOKE_ROWS if args.smoke else args.rows
        code = revision_code(args.code, Path(scratch) / "code") if args.code else [REPO / p for p in PACKAGES]
        side = args.code or "this checkout"
        generated, generated_in = catalogue(real, rows, args.seed, out)
        report: dict = {"code": side, "rows": rows, "seed": args.seed, "catalogue": str(generated), "runs": []}
        if generated_in is not None:
            print(f"{rows:,}-row catalogue made in {generated_in:.0f} s: {generated}")
        for level, data in (("real", real), (f"{rows:,}", generated)):
            for kind in ("textcat", "price"):
                folder = out / f"{kind}-{level.replace(',', '')}"
                command = ["train", kind, "--data", str(data), "--out", str(folder)]
                if args.smoke and kind == "textcat":
                    command += ["--folds", "2"]
                print(f"train {kind} on {level} rows ({side}) …", flush=True)
                run = measured(command, code, out / f"{folder.name}.log", args.cap_gb)
                entry: dict = {"kind": kind, "level": level, **asdict(run)}
                if not (run.failed or run.stopped_at_cap):
                    config = json.loads((folder / "release" / f"{kind}.json").read_text())
                    entry["trained_rows"] = config.get("train_rows") if kind == "textcat" else config.get("final_rows")
                    entry["held_out"] = held_out(kind, folder, real, out / f"{folder.name}-report")
                report["runs"].append(entry)
        (out / "summary.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        print_table(report, real)
    return 1 if any(run["failed"] for run in report["runs"]) else 0


def print_table(report: dict, real: Path) -> None:
    scored = next((r["held_out"]["rows"] for r in report["runs"] if "held_out" in r), 0)
    print(f"\nRow models trained by {report['code']}; held out: {scored:,} real rows of {real.name} never learnt")
    print(f"{'model':<8} {'catalogue':>10} {'trained':>10} {'peak':>8} {'wall':>8} {'CPU':>8}  held-out real rows")
    for run in report["runs"]:
        trained = f"{run['trained_rows']:,}" if run.get("trained_rows") is not None else "—"
        if run["stopped_at_cap"]:
            result = f"stopped: its memory passed the cap after {duration(run['wall_s'])}"
        elif run["failed"]:
            result = f"failed: {run['failed'][:60]}"
        else:
            result = figures(run["kind"], run["held_out"])
        print(
            f"{run['kind']:<8} {run['level']:>10} {trained:>10} {run['peak_gb']:>5.2f} GB"
            f" {duration(run['wall_s']):>8} {duration(run['cpu_s']):>8}  {result}"
        )


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    sys.exit(main())
