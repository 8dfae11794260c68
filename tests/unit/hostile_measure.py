"""Peak memory and time of reading one hostile input, measured in a child process.

The parent's own allocations (pytest, Hypothesis, the other tests) must not blur the figure, so
a fresh interpreter imports everything first, notes its peak RSS, builds the input lazily (a
generator of bytes, never the whole file in memory) from `tests.unit.hostile_inputs`, reads it
to the end, and reports how far its peak rose and how long the reading took.
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
import json, resource, sys, time
from tests.unit import hostile_inputs
from catalogist.errors import PermanentError
make = getattr(hostile_inputs, sys.argv[1])
run = make(*json.loads(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
started = time.perf_counter()
try:
    outcome = run()
except PermanentError as error:
    outcome = {"rejected": error.reason}
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"outcome": outcome, "peak_growth": after - before, "seconds": seconds}))
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
