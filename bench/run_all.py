"""Every bench at its real size, one after another, written to one dated page (`make bench`).

    .venv/bin/python bench/run_all.py [--out docs/bench.md] [--only bench_panel.py ...]
    .venv/bin/python bench/run_all.py --smoke --out /tmp/bench.md    # every bench at smoke size

The page holds the machine (CPU model, cores, memory, system), the load average before and after
each bench (the machine is shared, so its figures are only as good as the load beside them), each
bench's exact command and minutes, and its figures as it printed them. The README and docs/ quote
their figures from this page. A bench that fails is written with its exit code and the end of its
errors, and the run goes on to the next one; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    script: str
    arguments: tuple[str, ...] = ()
    why: str = ""  # why the size differs from the bench's own default, when it does


# Lightest first; the bench's own defaults are its real size unless `why` says otherwise.
RUNS = (
    Run("bench_parse.py"),
    Run("bench_stack.py"),
    Run("bench_row_models.py"),
    Run("bench_photos.py"),
    Run("bench_concurrency.py"),
    Run(
        "bench_import.py",
        ("--big-rows", "320000"),
        "the large CSV is 320,000 rows (28 MB, about the largest file the function imports itself: bigger "
        "than 32 MiB goes to an import job) instead of 1,000,000, which takes 20 to 45 minutes here depending "
        "on the load",
    ),
    Run("bench_panel.py"),
    Run(
        "soak.py",
        ("--photos", "1000", "--files", "10", "--rows", "10000", "--vendors", "10", "--workers", "2"),
        "1,000 photos and 10 lists of 10,000 rows (the size docs/reliability.md reports) instead of 2,000 and "
        "20: the in-memory Firestore emulator holds about 26 KB a product document (bench_import.py), so "
        "200,000 of them would need about 5 GB, past its Node heap's default of about 4 GB",
    ),
    Run("reliability.py"),
    Run("evaluate_row_models.py"),
    Run("bench_batch.py"),
    Run("bench_training.py"),
    Run("bench_row_models_at_scale.py"),
)


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    usable = len(os.sched_getaffinity(0))
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores ({usable} usable by the benches)",
        "memory": f"{memory_kb / 1024**2:.1f} GiB",
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "code": f"commit {commit or 'unknown'}",
    }


@dataclass
class Outcome:
    run: Run
    command: str
    started: str
    minutes: float
    load_before: str
    load_after: str
    exit_code: int
    figures: str
    errors: str


def run_bench(run: Run, smoke: bool, scratch: Path) -> Outcome:
    arguments = ["--smoke"] if smoke else list(run.arguments)
    command = [sys.executable, str(REPO / "bench" / run.script), *arguments]
    shown = shlex.join([".venv/bin/python", f"bench/{run.script}", *arguments])
    print(f"\n$ {shown}", flush=True)
    errors_log = scratch / f"{run.script}.stderr"
    load_before, started, clock = load_average(), datetime.now(UTC), time.perf_counter()
    lines = []
    with (
        errors_log.open("w") as errors,
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=errors, text=True, bufsize=1) as bench,
    ):
        for line in bench.stdout:  # shown as it comes: a real-size bench runs for minutes
            print(line, end="", flush=True)
            lines.append(line)
    minutes = (time.perf_counter() - clock) / 60
    error_tail = "\n".join(errors_log.read_text(errors="replace").splitlines()[-30:]) if bench.returncode else ""
    if bench.returncode:
        print(f"{run.script} failed with exit code {bench.returncode}:\n{error_tail}", flush=True)
    return Outcome(
        run,
        shown,
        started.strftime("%H:%M"),
        minutes,
        load_before,
        load_average(),
        bench.returncode,
        "".join(lines).strip("\n"),
        error_tail,
    )


def page(outcomes: list[Outcome], facts: dict[str, str], started: datetime, loads: tuple[str, str], smoke: bool) -> str:
    size = "at smoke size (their figures mean nothing)" if smoke else "at their real sizes"
    intro = (
        f"Written by `bench/run_all.py` (`make bench`) on {started:%Y-%m-%d}, starting {started:%H:%M} UTC: every "
        f"script in `bench/` {size}, one after another, on the machine below. The README and the other pages "
        "of docs/ quote their figures from this page. Load averages are over 1 / 5 / 15 minutes: the machine is "
        "shared (model trainings, other engineers' tests), so read each figure beside the load it ran under."
    )
    lines = [
        "# Bench figures",
        "",
        textwrap.fill(intro, 100),
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in facts.items()),
        f"| load average | {loads[0]} at the start, {loads[1]} at the end |",
        "",
        "| bench | command | started (UTC) | minutes | load before → after | result |",
        "|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        result = "ran" if outcome.exit_code == 0 else f"**failed** (exit code {outcome.exit_code})"
        lines.append(
            f"| [{outcome.run.script}](#{outcome.run.script.replace('.', '')}) | `{outcome.command}` | "
            f"{outcome.started} | {outcome.minutes:.1f} | {outcome.load_before} → {outcome.load_after} | {result} |"
        )
    for outcome in outcomes:
        lines += ["", f"## {outcome.run.script}", "", f"    {outcome.command}", ""]
        if outcome.run.why and not smoke:
            lines += [textwrap.fill(f"Size: {outcome.run.why}.", 100), ""]
        lines += ["```", outcome.figures or "(no output)", "```"]
        if outcome.exit_code:
            lines += ["", f"Exit code {outcome.exit_code}; the end of its errors:", "", "```", outcome.errors, "```"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench.md")
    parser.add_argument("--only", nargs="+", choices=[run.script for run in RUNS], help="these benches only")
    parser.add_argument("--smoke", action="store_true", help="every bench at smoke size: checks they all run")
    args = parser.parse_args()
    runs = [run for run in RUNS if not args.only or run.script in args.only]
    started, load_start = datetime.now(UTC), load_average()
    facts = machine()
    with tempfile.TemporaryDirectory() as scratch:
        outcomes = [run_bench(run, args.smoke, Path(scratch)) for run in runs]
    args.out.write_text(page(outcomes, facts, started, (load_start, load_average()), args.smoke))
    failed = [outcome.run.script for outcome in outcomes if outcome.exit_code]
    print(f"\nwrote {args.out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
