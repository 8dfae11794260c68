"""Memory of decoding the largest photo we accept, measured as peak RSS in a child process.

A 154 KB PNG of 6300×6300 RGBA once raised a worker's peak by 500 MB; eight at once would have
exhausted an instance. Decoding must cost about the decoded frame alone, and the photos being
decoded together must stay within the instance's budget.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalogist.imaging import MAX_PIXELS

SIDE = 6300  # 39.7 megapixels: just under the limit
MIB = 1024 * 1024
DECODED = SIDE * SIDE * 4  # RGBA, as Pillow holds it
# The child's own peak (VmHWM, reset by exec), never ru_maxrss: that one survives exec, so a child
# of a big process (a pytest worker that loaded TensorFlow) starts with its parent's peak.
PEAK = """
def memory(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
"""
CHILD = (
    PEAK
    + """
import json, sys, threading
from catalogist.imaging import DecodeBudget, photo_pixels
data = open(sys.argv[1], "rb").read()
threads, budget_bytes = int(sys.argv[2]), int(sys.argv[3])
budget = DecodeBudget(budget_bytes) if budget_bytes else None
before = memory("VmHWM")
workers = [threading.Thread(target=photo_pixels, args=(data, 224, budget)) for _ in range(threads)]
for worker in workers: worker.start()
for worker in workers: worker.join()
print(json.dumps({"before": before, "after": memory("VmHWM")}))
"""
)


@pytest.fixture(scope="module")
def worst_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert SIDE * SIDE <= MAX_PIXELS
    blocks = np.random.default_rng(0).integers(0, 256, (SIDE // 100, SIDE // 100, 4), dtype=np.uint8)
    image = Image.fromarray(blocks, "RGBA").resize((SIDE, SIDE), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=9)
    path = tmp_path_factory.mktemp("photos") / "worst.png"
    path.write_bytes(buffer.getvalue())
    return path


def peak_growth(photo: Path, threads: int, budget: int) -> int:
    """How far the child's peak RSS rose while decoding: bytes."""
    finished = subprocess.run(
        [sys.executable, "-c", CHILD, str(photo), str(threads), str(budget)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    measured = json.loads(finished.stdout.strip().splitlines()[-1])
    return int(measured["after"] - measured["before"])


def test_the_largest_accepted_photo_costs_about_its_decoded_frame(worst_photo):
    assert worst_photo.stat().st_size < 1 * MIB, "a small file, a big frame"

    growth = peak_growth(worst_photo, threads=1, budget=0)

    assert growth < DECODED * 1.25, f"{growth / MIB:.0f} MB for a {DECODED / MIB:.0f} MB frame"


def test_photos_decoded_at_once_stay_within_the_instance_budget(worst_photo):
    budget = 2 * DECODED  # room for two such frames; eight threads ask at once

    growth = peak_growth(worst_photo, threads=8, budget=budget)

    assert growth < budget * 1.25, f"{growth / MIB:.0f} MB with a budget of {budget / MIB:.0f} MB"


WORKER = (
    PEAK
    + """
import json, sys, threading
from pathlib import Path
import numpy as np
from catalogist.models.classifier import PhotoClassifier
from catalogist.imaging import DecodeBudget, photo_pixels, return_freed_pixels_to_the_system
data = open(sys.argv[1], "rb").read()
threads, budget = int(sys.argv[2]), DecodeBudget(int(sys.argv[3]))
return_freed_pixels_to_the_system()  # as the function's wiring does at start-up
classifier = PhotoClassifier.open(Path(sys.argv[4]), max_interpreters=4)
classifier.probabilities(np.zeros((classifier.image_size,) * 2 + (3,), np.uint8))
before = memory("VmRSS")
def classify(): classifier.probabilities(photo_pixels(data, classifier.image_size, budget))
workers = [threading.Thread(target=classify) for _ in range(threads)]
for worker in workers: worker.start()
for worker in workers: worker.join()
print(json.dumps({"before": before, "after": memory("VmHWM")}))
"""
)


def test_eight_worst_photos_through_the_classifier_stay_within_the_decode_budget(worst_photo, reference_classifier):
    """The function's own path with its default budget (CATALOGIST_DECODE_MEMORY_MB=512): the
    worker grew by 810 MB when the reduced copies and the model input were outside the budget
    and freed frames stayed in the threads' heaps."""
    budget = 512 * MIB
    finished = subprocess.run(
        [sys.executable, "-c", WORKER, str(worst_photo), "8", str(budget), str(reference_classifier)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    measured = json.loads(finished.stdout.strip().splitlines()[-1])

    growth = measured["after"] - measured["before"]
    assert growth < budget, f"{growth / MIB:.0f} MB with a budget of {budget / MIB:.0f} MB"
