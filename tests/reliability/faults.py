"""Faults to inject into the local stack: a TCP proxy that resets connections on command, and
process pauses and kills. Loopback only."""

from __future__ import annotations

import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from catalogist_infra.processes import group_alive


class ResettingProxy:
    """Forwards TCP connections to `upstream`; `reset()` aborts every open connection with a
    TCP reset, as a network fault or a load balancer dropping connections would."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.resets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reset(self) -> int:
        """Abort every connection now; how many were open."""
        with self._lock:
            sockets, self._open = list(self._open), set()
            self.resets += 1
        for sock in sockets:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            except OSError:
                pass
        return len(sockets) // 2

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with self._lock:
                    self._open.discard(sock)
                with suppress(OSError):
                    sock.close()


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """SIGSTOP the process group for the block: a stalled server, not a dead one (killing the
    Firestore emulator would erase its in-memory data)."""
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def kill_group(pid: int) -> None:
    """SIGKILL a process group, as an OOM kill would, and wait until none of it runs. (A killed
    leader stays a zombie until its parent reaps it, and signal 0 still reaches a zombie: waiting
    on that waited out the whole deadline.)"""
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
