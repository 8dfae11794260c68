"""Import jobs on Beam's local runner, each a process of its own beside the function: the local
stack's stand-in for Dataflow. The job is the same pipeline (`catalogist_batch.import_job`), run
by the batch environment's Python (`CATALOGIST_LOCAL_JOB_PYTHON`, batch/.venv: Beam is never in
the function's environment), with the function's environment (the emulators' addresses).

A job is recorded by name in the logs folder (`<name>.pid` beside `<name>.log`), so launching a
name whose process is still alive starts nothing, as Dataflow refuses a second active job.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from catalogist.errors import CatalogistError
from catalogist.ports import LaunchedJob

MODULE = "catalogist_batch.import_job"


class LocalLaunchFailed(CatalogistError):
    """The job's process could not be started (no batch environment): transient, as a refused
    Dataflow launch is."""


class LocalJobs:
    def __init__(self, python: str, logs: str, module: str = MODULE) -> None:
        self._python, self._logs, self._module = python, Path(logs), module
        self._lock = threading.Lock()

    def launch(self, name: str, parameters: Mapping[str, str]) -> LaunchedJob:
        log_path = self._logs / f"{name}.log"
        pid_path = self._logs / f"{name}.pid"
        with self._lock:
            running = _alive(pid_path, name)
            if running:
                return LaunchedJob(name, str(running), "local", str(log_path))
            self._logs.mkdir(parents=True, exist_ok=True)
            command = [self._python, "-m", self._module, f"--job_name={name}"]
            command += [f"--{key}={value}" for key, value in parameters.items()]
            try:
                with log_path.open("ab") as log:
                    # its own session: the job outlives the request, and a stack's shutdown of the
                    # function's process group does not cut an import half way
                    process = subprocess.Popen(
                        command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
            except OSError as error:
                raise LocalLaunchFailed(f"could not start the import job {name} with {self._python}: {error}") from None
            pid_path.write_text(f"{process.pid}\n")
        # reaped when it ends, so no finished job lingers as a zombie of the function
        threading.Thread(target=process.wait, name=f"job-{name[-8:]}", daemon=True).start()
        return LaunchedJob(name, str(process.pid), "local", str(log_path))


def _alive(pid_path: Path, name: str) -> int:
    """The recorded process of job `name` if it is still running (and still that job), else 0."""
    try:
        pid = int(pid_path.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return 0
    if f"--job_name={name}".encode() not in command:
        return 0  # the number went to another process since
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return 0
    return 0 if status == "Z" else pid
