"""`catalogist dev up --detach` then `dev down`: every part answers, then nothing is left."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from catalogist_infra.processes import group_alive
from tests.support import as_flags, dev_up_ports


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def catalogist(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "catalogist"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_dev_up_detached_then_down_leaves_no_process_and_frees_the_ports(tmp_path, request):
    ports = dev_up_ports()
    flags = ["--data-dir", str(tmp_path), *as_flags(ports)]

    up = catalogist("dev", "up", "--detach", *flags)
    request.addfinalizer(lambda: catalogist("dev", "down", "--data-dir", str(tmp_path)))

    assert up.returncode == 0, up.stderr
    for part in ("storage", "firestore", "functions", "panel", "bridge"):
        assert part in up.stdout
    state = json.loads((tmp_path / "stack.json").read_text())
    pids = list(state["processes"].values())
    assert len(pids) == 5 and all(group_alive(pid) for pid in pids)
    assert not any(port_is_free(port) for port in ports.values())
    second = catalogist("dev", "up", "--detach", *flags)
    assert second.returncode == 1
    assert "already running" in second.stderr

    down = catalogist("dev", "down", "--data-dir", str(tmp_path))

    assert down.returncode == 0, down.stderr
    assert "Stopped: bridge, panel, functions, firestore, storage" in down.stdout
    assert not any(group_alive(pid) for pid in pids)
    assert all(port_is_free(port) for port in ports.values())
    assert not (tmp_path / "stack.json").exists()


def test_uploads_survive_a_restart(tmp_path):
    ports = dev_up_ports()
    flags = ["--data-dir", str(tmp_path), *as_flags(ports)]
    storage_port = ports["--storage-port"]
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    def bucket():
        client = storage.Client(
            project="catalogist-local",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"http://127.0.0.1:{storage_port}"},
        )
        return client.bucket("catalogist-uploads")

    assert catalogist("dev", "up", "--detach", *flags).returncode == 0
    try:
        bucket().blob("acme/kept.csv").upload_from_string("SKU,Name\nA-1,Apples\n")
    finally:
        catalogist("dev", "down", "--data-dir", str(tmp_path))
    assert catalogist("dev", "up", "--detach", *flags).returncode == 0
    try:
        assert bucket().blob("acme/kept.csv").download_as_text() == "SKU,Name\nA-1,Apples\n"
    finally:
        catalogist("dev", "down", "--data-dir", str(tmp_path))


def test_a_firestore_emulator_already_running_is_used_instead_of_starting_one(stack, firestore, tmp_path):
    ports = dev_up_ports(("--storage-port", "--functions-port", "--bridge-port", "--panel-port"))
    import os

    from catalogist.intake.ledger import upload_id
    from catalogist_infra.stack import StackConfig, storage_client, wait_until

    env = {**os.environ, "FIRESTORE_EMULATOR_HOST": stack.config.firestore_host}
    command = [
        str(Path(sys.executable).parent / "catalogist"),
        "dev",
        "up",
        "--detach",
        "--data-dir",
        str(tmp_path),
        "--uploads-bucket",
        "external-fs-uploads",
        "--project",
        stack.config.project,
        *as_flags(ports),
    ]
    up = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)
    try:
        assert up.returncode == 0, up.stderr
        state = json.loads((tmp_path / "stack.json").read_text())
        assert sorted(state["processes"]) == ["bridge", "functions", "panel", "storage"]
        config = StackConfig(storage_port=ports["--storage-port"], project=stack.config.project)
        blob = storage_client(config).bucket("external-fs-uploads").blob("acme/list.csv")
        blob.upload_from_string("SKU,Name\nA-1,Apples\n", content_type="text/csv")
        document_id = upload_id("external-fs-uploads", blob.name, str(blob.generation))
        reference = firestore.collection("uploads").document(document_id)
        assert wait_until(lambda: reference.get().exists, timeout=20), "no ledger entry in the external emulator"
    finally:
        catalogist("dev", "down", "--data-dir", str(tmp_path))


def test_a_stack_dies_with_the_process_that_started_it(tmp_path, request):
    """A test run or demo killed with SIGKILL must not leave emulators and functions behind."""
    import time

    script = (
        "import time\n"
        "from pathlib import Path\n"
        "from catalogist_infra.stack import Stack\n"
        "from tests.support import stack_config\n"
        f"Stack(stack_config(Path({str(tmp_path)!r}))).start()\n"
        "print('up', flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
    )
    request.addfinalizer(lambda: (owner.kill(), owner.wait(10), owner.stdout and owner.stdout.close()))
    assert owner.stdout is not None and owner.stdout.readline().strip() == "up"
    pids = list(json.loads((tmp_path / "stack.json").read_text())["processes"].values())
    assert all(group_alive(pid) for pid in pids)

    owner.kill()
    owner.wait(10)
    owner.stdout.close()

    deadline = time.monotonic() + 15
    while any(group_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(group_alive(pid) for pid in pids)
