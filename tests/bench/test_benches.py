"""Every script in bench/ runs at smoke size, so a change that breaks a bench fails `make test`
instead of surfacing the next time someone quotes its figures. A smoke run checks that the bench
ran to the end and printed each of its figures' headings; never the values, which at tiny sizes on
a shared machine measure nothing.

Each bench runs in a process of its own, as a user runs it, from the test's own folder; the ones
that start a stack find free ports themselves (`StackConfig.on_free_ports`) and keep their files in
temporary folders of their own, so the tests can run side by side under pytest-xdist. (Not under
the test's folder: pytest-xdist's paths are too long for Chromium's socket, 108 bytes at most.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import BIGBASKET, GROCERY, REPO, require_data

BENCH = REPO / "bench"
pytestmark = pytest.mark.bench

# What each bench prints before its figures: one heading or label per part it measures.
HEADINGS = {
    "bench_batch.py": (
        "re-scoring with the local runner",
        "the import job (local runner) beside the function's import",
    ),
    "bench_concurrency.py": ("1. Photo core in one process", "2. Through the local stack"),
    "bench_import.py": (
        "rows per file, uploaded to the local stack",
        "parsing and predicting alone",
        "text categorizer",
        "price model",
        "products written and dropped",
        "with `catalogist import`",
    ),
    "bench_panel.py": (
        "queue page, first",
        "queue page, further down",
        "queue page, one vendor",
        "card ",
        "2. Decision round trip",
        "3. Scripted Chromium session",
    ),
    "bench_parse.py": ("parse_vendor_file alone", "csv ", "tsv ", "xlsx ", "json ", "jsonl ", "xml "),
    "bench_photos.py": (
        "cold start, fresh process",
        "function (LiteRT int8)",
        "TensorFlow SavedModel",  # the float network is built when no trained one exists
        "draft decode (served)",
        "full decode",
        "views none",
        "views flip ",
        "views flip_crops",
        "LiteRT int8 invoke alone",
        "through the local stack",
        "installed size",
    ),
    "bench_row_models.py": ("old: HEAD", "old rows/s", "new rows/s"),
    "bench_training.py": (
        "1. Decoding every photo once",
        "2. catalogist train classifier --max-steps",
        "3. Model steps waiting on input",
    ),
    "bench_stack.py": ("stack start-up", "upload → ledger document", "stack shut-down"),
    "evaluate_row_models.py": (
        "Text categorizer on",
        "iterations, converged",  # the baseline beside the model is run to convergence, and says so
        "Price model on",
        "smoke run: the floors are not checked",
    ),
    "reliability.py": ("| scenario |", "redelivery storm"),  # one scenario: tests/reliability runs them all
    "soak.py": ("photo       upload → done", "price list  upload → done", "throughput:", "must be zero:"),
}
# The runner of `make bench` is tested on its own, on one quick bench (the others are above).
RUNNER = "run_all.py"
# Benches whose smoke run is checked more closely by a test of their own (the figures it stores).
OWN_TESTS = {"bench_row_models_at_scale.py": REPO / "tests" / "training" / "test_scale_rows.py"}


def smoke(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    require_data(GROCERY / "train.txt", "the Grocery Store dataset")
    require_data(BIGBASKET, "the BigBasket catalogue")
    return subprocess.run([sys.executable, *arguments], cwd=tmp_path, capture_output=True, text=True, check=False)


def test_every_bench_has_a_smoke_test() -> None:
    scripts = {path.name for path in BENCH.glob("*.py")}
    assert scripts - {RUNNER} - set(OWN_TESTS) == set(HEADINGS)
    for script, test in OWN_TESTS.items():
        assert script in test.read_text() and "--smoke" in test.read_text()


@pytest.mark.parametrize("script", sorted(HEADINGS))
def test_the_bench_runs_at_smoke_size_and_prints_its_figures(script: str, tmp_path: Path) -> None:
    done = smoke(tmp_path, str(BENCH / script), "--smoke")

    assert done.returncode == 0, f"{script} --smoke failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    missing = [heading for heading in HEADINGS[script] if heading not in done.stdout]
    assert not missing, f"{script} --smoke did not print {missing}:\n{done.stdout}"
    assert "Traceback" not in done.stdout + done.stderr


def test_make_bench_writes_one_dated_page_with_the_machine_and_each_bench(tmp_path: Path) -> None:
    page = tmp_path / "bench.md"

    done = smoke(tmp_path, str(BENCH / RUNNER), "--smoke", "--only", "bench_parse.py", "--out", str(page))

    assert done.returncode == 0, done.stderr[-4000:]
    text = page.read_text()
    for heading in ("# Bench figures", "| CPU |", "| memory |", "| load average |", "| bench | command |"):
        assert heading in text
    assert "`.venv/bin/python bench/bench_parse.py --smoke`" in text
    assert "parse_vendor_file alone" in text
