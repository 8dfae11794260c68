"""The event bridge delivers at least once: a failing function gets the event again."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

from catalogist_infra.processes import ProcessSpec, start, stop_group, wait_healthy
from catalogist_infra.stack import free_ports, wait_until

HERE = Path(__file__).parent


def test_a_function_that_fails_transiently_is_redelivered(stack, uploads, tmp_path):
    bucket = uploads.client.create_bucket("flaky-uploads")
    attempts_file = tmp_path / "attempts.txt"
    function_port, bridge_port = free_ports(2)
    env = {
        **os.environ,
        **stack.config.client_env(),
        "FLAKY_ATTEMPTS_FILE": str(attempts_file),
        "FLAKY_FAILURES": "2",
    }
    bin_dir = Path(sys.executable).parent
    specs = [
        ProcessSpec(
            "flaky",
            [
                str(bin_dir / "functions-framework"),
                "--source",
                str(HERE / "flaky_function.py"),
                "--target",
                "flaky",
                "--signature-type",
                "cloudevent",
                "--host",
                "127.0.0.1",
                "--port",
                str(function_port),
            ],
            f"http://127.0.0.1:{function_port}/",
            tmp_path / "flaky.log",
            env,
            tmp_path,
        ),
        ProcessSpec(
            "bridge",
            [
                sys.executable,
                "-m",
                "catalogist_infra.bridge",
                "--bucket",
                bucket.name,
                "--target",
                f"http://127.0.0.1:{function_port}",
                "--storage-host",
                stack.config.storage_url,
                "--port",
                str(bridge_port),
                "--first-backoff",
                "0.2",
            ],
            f"http://127.0.0.1:{bridge_port}/health",
            tmp_path / "bridge.log",
            env,
            tmp_path,
        ),
    ]
    processes = []
    try:
        for spec in specs:
            processes.append(start(spec))
            wait_healthy(spec, processes[-1], timeout=30)
        blob = bucket.blob("acme/SKU-9.jpg")
        blob.upload_from_string(b"\xff\xd8\xff\xe0 not really a photo", content_type="image/jpeg")

        def delivered():
            counts = requests.get(f"http://127.0.0.1:{bridge_port}/health", timeout=5).json()
            return counts if counts["delivered"] >= 1 else None

        counts = wait_until(delivered, timeout=30)

        assert counts is not None, (tmp_path / "bridge.log").read_text()[-2000:]
        assert counts["failed_attempts"] == 2
        assert counts["dropped"] == 0
        lines = attempts_file.read_text().splitlines()
        assert len(lines) == 3
        assert len(set(lines)) == 1, "every redelivery carries the same event id"
        assert lines[0].endswith("objects/acme/SKU-9.jpg")
    finally:
        for process in processes:
            stop_group(process.pid)
            process.wait(timeout=5)
