"""Fixtures of the unit tests of hostile input: no network, and a secret an entity must never read."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import NoReturn

import pytest


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every attempt to open a connection is recorded and refused."""
    attempts: list[tuple] = []

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        attempts.append(args)
        raise OSError("network access during a test of hostile input")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A local file whose content would show in a row if an entity ever read it."""
    path = tmp_path / "secret.txt"
    path.write_text("SECRET-CONTENT-7f3a")
    return path
