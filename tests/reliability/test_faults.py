"""At-least-once delivery, stalls, resets and kills: every scenario ends complete, with no row
lost and nothing done twice (tests/reliability/scenarios.py; bench/reliability.py prints the
same scenarios as a table)."""

from __future__ import annotations

import psutil
import pytest

from tests.support import dataset_photos

pytestmark = [pytest.mark.timeout(900), pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")]


def assert_clean(result) -> None:
    assert result.complete, result
    assert (result.rows_lost, result.duplicates) == (0, 0), result


def assert_reaped() -> None:
    """A part killed and started again leaves no zombie behind in the process that runs the stack."""
    zombies = [child.pid for child in psutil.Process().children() if child.status() == psutil.STATUS_ZOMBIE]
    assert not zombies, f"unreaped stack processes: {zombies}"


def test_a_redelivery_storm_runs_the_upload_once(harness, reference_classifier):
    photo, _ = dataset_photos(reference_classifier, 1)[0]
    assert_clean(harness.redelivery_storm(photo))


def test_firestore_stalling_mid_import_loses_nothing(harness):
    assert_clean(harness.firestore_stall(seconds=10))


def test_connections_reset_mid_import_lose_nothing(harness):
    result = harness.connection_resets(times=3)
    assert harness.proxy.resets >= 3
    assert_clean(result)


def test_a_function_killed_mid_import_is_finished_by_the_redelivery(harness):
    assert_clean(harness.function_killed_mid_import())
    assert_reaped()


def test_a_function_killed_mid_photo_is_finished_by_the_redelivery(harness, reference_classifier):
    photos = [path for path, _ in dataset_photos(reference_classifier, 24)]
    assert_clean(harness.function_killed_mid_photos(photos))
    assert_reaped()


def test_a_photo_and_its_row_landing_together_keep_every_field(harness, reference_classifier):
    photos = [path for path, _ in dataset_photos(reference_classifier, 6)]
    assert_clean(harness.photo_and_row_together(photos))


def test_dev_up_starts_a_killed_function_again_and_says_so(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from catalogist_infra.stack import (
        StackConfig,
        finished_uploads,
        firestore_client,
        storage_client,
        wait_until,
    )
    from tests.reliability.faults import kill_group
    from tests.support import as_flags, dev_up_ports

    ports = dev_up_ports()
    flags = ["--data-dir", str(tmp_path), *as_flags(ports)]
    supervisor = subprocess.Popen(
        [str(Path(sys.executable).parent / "catalogist"), "dev", "up", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        state_file = tmp_path / "stack.json"
        assert wait_until(lambda: state_file.exists() and len(json.loads(state_file.read_text())["processes"]) == 5, 60)
        time.sleep(1)
        functions = json.loads(state_file.read_text())["processes"]["functions"]

        kill_group(functions)  # the gunicorn master and its worker, as an OOM kill would

        restarted = wait_until(
            lambda: json.loads(state_file.read_text())["processes"]["functions"] != functions or None, 60
        )
        assert restarted, "the functions process was not started again"
        config = StackConfig(
            storage_port=ports["--storage-port"], firestore_port=ports["--firestore-port"], project="catalogist-local"
        )
        bucket = storage_client(config).bucket(config.uploads_bucket)
        blob = bucket.blob("acme/after-restart.docx")  # rejected at once: no model needed to answer
        blob.upload_from_string(b"PK\x03\x04 not a price list", content_type="application/octet-stream")
        documents = firestore_client(config)
        assert wait_until(lambda: finished_uploads(documents, bucket.name, [blob]), 60), (
            "not processed after the restart"
        )
        documents.close()
    finally:
        supervisor.send_signal(signal.SIGINT)
        _, errors = supervisor.communicate(timeout=60)
    assert "functions exited unexpectedly; starting it again" in errors
    assert "functions is running again" in errors
