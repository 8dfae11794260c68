"""A stack part is ready when it answers its health URL itself, not when anything does."""

from __future__ import annotations

import itertools
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalogist_infra.processes import ProcessSpec, StackError, start, stop_group, wait_healthy
from catalogist_infra.stack import StackConfig, free_port, free_ports, listen_ports


class Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def spec(tmp_path, port: int, command: list[str]) -> ProcessSpec:
    return ProcessSpec(
        name="web",
        command=command,
        health_url=f"http://127.0.0.1:{port}/",
        log_path=tmp_path / "web.log",
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )


def test_a_part_whose_port_another_process_answers_is_not_reported_ready(tmp_path):
    port = free_port()
    stranger = ThreadingHTTPServer(("127.0.0.1", port), Ok)  # took the port before the part bound it
    threading.Thread(target=stranger.serve_forever, daemon=True).start()
    part = spec(tmp_path, port, [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    process = start(part)
    try:
        with pytest.raises(StackError, match=rf"web: port {port} is held by another process \(pid \d+"):
            wait_healthy(part, process, timeout=20)
    finally:
        stop_group(process.pid)
        process.wait(timeout=5)
        stranger.shutdown()
        stranger.server_close()


def test_a_part_answering_its_own_port_is_ready(tmp_path):
    port = free_port()
    part = spec(tmp_path, port, [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    process = start(part)
    try:
        assert wait_healthy(part, process, timeout=20) < 20
    finally:
        stop_group(process.pid)
        process.wait(timeout=5)


def test_free_ports_come_from_the_range_the_environment_names(monkeypatch):
    monkeypatch.setenv("CATALOGIST_LISTEN_PORTS", "23000-23009")
    assert listen_ports() == range(23000, 23010)
    assert all(23000 <= free_port() <= 23009 for _ in range(20))
    monkeypatch.setenv("CATALOGIST_LISTEN_PORTS", "23009-23000")
    with pytest.raises(StackError, match="FIRST <= LAST"):
        listen_ports()
    monkeypatch.setenv("CATALOGIST_LISTEN_PORTS", "twenty")
    with pytest.raises(StackError, match="expected FIRST-LAST"):
        free_port()


def test_a_stack_s_parts_get_different_ports_even_when_the_draws_repeat(monkeypatch, tmp_path):
    # Each port is drawn twice in a row: probed one at a time, both draws find it free.
    candidates = free_ports(6)
    draws = itertools.cycle([port for port in candidates for _ in range(2)])
    monkeypatch.setattr("catalogist_infra.stack.secrets.choice", lambda _ports: next(draws))

    config = StackConfig.on_free_ports(tmp_path)

    ports = [config.storage_port, config.firestore_port, config.firestore_admin_port]
    ports += [config.functions_port, config.bridge_port, config.panel_port]
    assert sorted(ports) == sorted(candidates)
