"""Child processes of the local stack: started in their own process group, logged to a file,
health-checked over HTTP, and stopped with everything they spawned."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import requests


class StackError(RuntimeError):
    """The stack could not start or stop; the message says which part and why."""


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: Sequence[str]
    health_url: str
    log_path: Path
    env: Mapping[str, str]
    cwd: Path
    listens: str = ""  # what to tell the user; the health URL when empty
    # Any HTTP answer below this status proves the server is up (a CloudEvent function
    # answers a bare GET with 400, which is fine).
    healthy_below: int = 500


def start(spec: ProcessSpec, die_with_parent: bool = True) -> subprocess.Popen[bytes]:
    """Start the process in a new session (its own process group).

    With `die_with_parent` the kernel sends it SIGTERM when the starting process dies, however
    it dies, so a killed test run or demo leaves no orphans; `dev up --detach` turns it off.
    """
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    command = list(spec.command)
    if die_with_parent and sys.platform == "linux":
        command = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]
    with open(spec.log_path, "ab") as log_file:
        # A new session makes the child a process-group leader, so stopping the group also
        # stops whatever it spawned (functions-framework's reloader, node's workers).
        return subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(spec.env),
            cwd=spec.cwd,
            start_new_session=True,
        )


# Run by a fresh interpreter that then becomes the part: it asks Linux for SIGTERM when its
# parent dies, and exits if the parent is already gone. Not a `preexec_fn`: Python code in a
# child forked from a process with gRPC threads aborts (gRPC's fork handlers), so the fork
# itself must run no Python at all.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"  # PR_SET_PDEATHSIG
    "sys.exit(1) if os.getppid() != int(sys.argv[1]) else os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def wait_healthy(spec: ProcessSpec, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until the health URL answered; `StackError` with the log's tail otherwise."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise StackError(f"{spec.name} exited with code {process.returncode}:\n{log_tail(spec.log_path)}")
        try:
            if requests.get(spec.health_url, timeout=1).status_code < spec.healthy_below:
                _require_own_listener(spec, process)
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise StackError(f"{spec.name} did not answer {spec.health_url} within {timeout:.0f} s:\n{log_tail(spec.log_path)}")


def _require_own_listener(spec: ProcessSpec, process: subprocess.Popen[bytes]) -> None:
    """`StackError` when what answered the health URL is not the part just started.

    A port found free can be taken before the part binds it; the part then fails to bind while
    the other process answers its health URL, and the stack would be reported ready with another
    program (another stack's part, say) in its place.
    """
    port = urlsplit(spec.health_url).port
    try:
        listeners = {
            connection.pid
            for connection in psutil.net_connections("inet")
            if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port
        }
    except psutil.AccessDenied:  # some systems list sockets to root only: nothing to check with
        return
    ours = {member.pid for member in group_members(process.pid)}
    strangers = sorted(pid for pid in listeners if pid is not None and pid not in ours)
    if strangers and not listeners & ours:
        try:
            holder = f"pid {strangers[0]}, {' '.join(psutil.Process(strangers[0]).cmdline())[:120]}"
        except psutil.Error:
            holder = f"pid {strangers[0]}"
        raise StackError(
            f"{spec.name}: port {port} is held by another process ({holder}), not the one started: "
            f"choose another port or stop that process:\n{log_tail(spec.log_path)}"
        )


def stop_group(pid: int, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is still there after `grace` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pid):
            return
        _reap(pid)
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while group_alive(pid) and time.monotonic() < deadline + grace:
        _reap(pid)
        time.sleep(0.05)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is running (a zombie leader does not count)."""
    return bool(group_members(pgid))


def group_members(pgid: int) -> list[psutil.Process]:
    """The running processes of a process group: a stack part and everything it spawned, even
    those its leader's death left to init."""
    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # not our child: nothing to reap
        os.waitpid(pid, os.WNOHANG)


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
