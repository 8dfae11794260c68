"""Peak memory and time of reading one hostile input, measured in a child process.

The parent's own allocations (pytest, Hypothesis, the other tests) must not blur the figure, so
a fresh interpreter imports everything, builds the input from `tests.unit.hostile_inputs` (huge
ones as a lazy generator of bytes), then resets the kernel's peak-RSS mark (`clear_refs`), reads
the input to the end, and reports how far the peak rose above the RSS it started from, and how
long the reading took. Without the reset, building a large input would hide what reading it cost.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MB = 1_000_000

_CHILD = """
import gc, json, sys, time
from tests.unit import hostile_inputs
from catalogist.errors import PermanentError

def memory(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

make = getattr(hostile_inputs, sys.argv[1])
run = make(*json.loads(sys.argv[2]))
gc.collect()
with open("/proc/self/clear_refs", "w") as peak:
    peak.write("5")  # the peak RSS (VmHWM) starts again from the RSS now
before = memory("VmRSS")
started = time.perf_counter()
try:
    outcome = run()
except PermanentError as error:
    outcome = {"rejected": error.reason}
seconds = time.perf_counter() - started
print(json.dumps({"outcome": outcome, "peak_growth": memory("VmHWM") - before, "seconds": seconds}))
"""


@dataclass(frozen=True)
class Measured:
    outcome: dict  # what `run()` returned, or {"rejected": reason}
    peak_growth: int  # bytes the child's peak RSS rose while reading
    seconds: float


def measure(case: str, *args: object, timeout: float = 120) -> Measured:
    """Run `hostile_inputs.<case>(*args)()` in a fresh interpreter."""
    finished = subprocess.run(
        [sys.executable, "-c", _CHILD, case, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    return Measured(report["outcome"], report["peak_growth"], report["seconds"])
