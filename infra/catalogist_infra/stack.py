"""The local stack: Storage and Firestore emulators, the functions, and the event bridge.

    catalogist dev up            # foreground; Ctrl-C stops everything
    catalogist dev up --detach   # returns once healthy; `catalogist dev down` stops it

Every part listens on loopback. Each runs in its own process group with its log in
`<data-dir>/logs/`; the running stack is recorded in `<data-dir>/stack.json` for `dev down`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from catalogist.settings import Settings
from catalogist_infra.processes import (
    ProcessSpec,
    StackError,
    group_alive,
    start,
    stop_group,
    wait_healthy,
)

REPO = Path(__file__).resolve().parents[2]
FIRESTORE_LAUNCHER = REPO / "infra" / "firestore-emulator" / "launcher.cjs"
FUNCTIONS_SOURCE = REPO / "functions" / "main.py"
# The batch pipelines' own environment (`make batch`): Beam's local runner stands in for Dataflow.
BATCH_PYTHON = REPO / "batch" / ".venv" / "bin" / "python"
T = TypeVar("T")
# Parts the foreground `dev up` starts again when they die: they keep no state of their own.
RESTARTABLE = ("functions", "panel", "bridge")


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path = REPO / ".catalogist" / "dev"
    host: str = "127.0.0.1"
    storage_port: int = 9023
    firestore_port: int = 8686
    firestore_admin_port: int = 8687
    functions_port: int = 8701
    bridge_port: int = 8703
    panel_port: int = 8705
    # The local panel signs reviewers in with a dev sign-in (never on Cloud Run).
    reviewers: str = "admin@catalogist.local,reviewer@catalogist.local"
    project: str = "catalogist-local"
    uploads_bucket: str = "catalogist-uploads"
    models_bucket: str = "catalogist-models"
    # host:port of a Firestore emulator already running (Google's, say); none is started then.
    external_firestore: str | None = None
    model_location: str | None = None
    function_env: dict[str, str] = field(default_factory=dict)
    # Big vendor files imported by jobs on Beam's local runner, as on Dataflow in GCP, when the
    # batch environment is installed (`make install` builds it); else in the function.
    import_jobs: bool = True

    @property
    def jobs_env(self) -> dict[str, str]:
        """The function's settings for local import jobs, or none without the batch environment."""
        if not self.import_jobs or not BATCH_PYTHON.exists():
            return {}
        return {
            "CATALOGIST_IMPORT_JOBS": "local",
            "CATALOGIST_LOCAL_JOB_PYTHON": str(BATCH_PYTHON),
            "CATALOGIST_LOCAL_JOB_LOGS": str(self.data_dir / "logs" / "jobs"),
        }

    @classmethod
    def on_free_ports(cls, data_dir: Path, **overrides: Any) -> StackConfig:
        """A stack beside any other: every port a different one found free (tests, benchmarks)."""
        names = [
            "storage_port",
            "firestore_port",
            "firestore_admin_port",
            "functions_port",
            "bridge_port",
            "panel_port",
        ]
        ports = dict(zip(names, free_ports(len(names)), strict=True))
        return cls(data_dir=data_dir, **{**ports, **overrides})

    @property
    def storage_url(self) -> str:
        return f"http://{self.host}:{self.storage_port}"

    @property
    def firestore_host(self) -> str:
        return self.external_firestore or f"{self.host}:{self.firestore_port}"

    @property
    def functions_url(self) -> str:
        return f"http://{self.host}:{self.functions_port}"

    @property
    def panel_url(self) -> str:
        return f"http://{self.host}:{self.panel_port}"

    @property
    def bridge_url(self) -> str:
        return f"http://{self.host}:{self.bridge_port}"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "stack.json"

    def client_env(self) -> dict[str, str]:
        """What a process needs to talk to this stack with the official Google clients."""
        env = {
            "GOOGLE_CLOUD_PROJECT": self.project,
            "STORAGE_EMULATOR_HOST": self.storage_url,
            "FIRESTORE_EMULATOR_HOST": self.firestore_host,
            "CATALOGIST_UPLOADS_BUCKET": self.uploads_bucket,
            "CATALOGIST_MODELS_BUCKET": self.models_bucket,
        }
        if self.model_location:
            env["CATALOGIST_MODEL_LOCATION"] = self.model_location
        return env


@dataclass
class RunningPart:
    name: str
    pid: int
    url: str
    log: str
    ready_seconds: float


class Stack:
    def __init__(self, config: StackConfig, detached: bool = False) -> None:
        """`detached`: the processes outlive this one (for `dev up --detach`)."""
        self.config = config
        self.detached = detached
        self.parts: list[RunningPart] = []
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._started_at: dict[str, float] = {}

    def start(self, timeout: float = 30.0) -> None:
        config = self.config
        _refuse_if_running(config)
        for port in self._ports():
            _require_free(config.host, port)
        (config.data_dir / "storage").mkdir(parents=True, exist_ok=True)
        specs = self._specs()
        # The emulators and the functions need nothing from each other to start, so they start
        # together; the bridge starts last, once the buckets it watches exist.
        try:
            for spec in specs[:-1]:
                self._start(spec)
            for spec in specs[:-1]:
                self._wait(spec, timeout)
                if spec.name == "storage":
                    self._create_buckets()
            self._start(specs[-1])
            self._wait(specs[-1], timeout)
            self._save_state()
        except BaseException:
            self.stop()
            raise

    def _start(self, spec: ProcessSpec) -> None:
        self._started_at[spec.name] = time.monotonic()
        self._processes[spec.name] = start(spec, die_with_parent=not self.detached)
        self._save_state()  # so `dev down` can clean up even a half-started stack

    def _wait(self, spec: ProcessSpec, timeout: float) -> None:
        process = self._processes[spec.name]
        wait_healthy(spec, process, timeout)
        ready = time.monotonic() - self._started_at[spec.name]
        self.parts.append(
            RunningPart(spec.name, process.pid, spec.listens or spec.health_url, str(spec.log_path), round(ready, 2))
        )

    def stop(self) -> None:
        for process in reversed(list(self._processes.values())):
            stop_group(process.pid)
            process.wait(timeout=5)
        self._processes.clear()
        stop_import_jobs(self.config.data_dir)
        self.config.state_file.unlink(missing_ok=True)

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """Start a part that died again, as it was started (the functions, the panel, the bridge
        hold nothing a restart loses; the Firestore emulator keeps its data in memory only)."""
        spec = next(spec for spec in self._specs() if spec.name == name)
        process = self._processes.pop(name)
        stop_group(process.pid, grace=1.0)  # whatever the dead leader left behind
        process.wait(timeout=5)  # reaped: a dead leader is our zombie until waited on
        self.parts = [part for part in self.parts if part.name != name]
        self._start(spec)
        self._wait(spec, timeout)

    def first_dead_part(self) -> str | None:
        for name, process in self._processes.items():
            if process.poll() is not None:
                return name
        return None

    def _ports(self) -> list[int]:
        config = self.config
        ports = [config.storage_port, config.functions_port, config.bridge_port, config.panel_port]
        if not config.external_firestore:
            ports += [config.firestore_port, config.firestore_admin_port]
        return ports

    def _specs(self) -> list[ProcessSpec]:
        config = self.config
        logs = config.data_dir / "logs"
        bin_dir = Path(sys.executable).parent
        base_env = {**os.environ, **config.client_env(), "PYTHONUNBUFFERED": "1"}
        specs = [
            ProcessSpec(
                "storage",
                [
                    str(bin_dir / "gcp-storage-emulator"),
                    "start",
                    "--host",
                    config.host,
                    "--port",
                    str(config.storage_port),
                    "--quiet",
                ],
                f"{config.storage_url}/",
                logs / "storage.log",
                # The emulator keeps its files under STORAGE_BASE, so uploads survive a restart.
                {**base_env, "STORAGE_BASE": str(config.data_dir / "storage")},
                config.data_dir,
            )
        ]
        if not config.external_firestore:
            node = shutil.which("node")
            if node is None:
                raise StackError("Node.js is needed for the Firestore emulator: install it (see README)")
            if not (FIRESTORE_LAUNCHER.parent / "node_modules").is_dir():
                raise StackError("the Firestore emulator is not installed: run `make install`")
            specs.append(
                ProcessSpec(
                    "firestore",
                    [
                        node,
                        str(FIRESTORE_LAUNCHER),
                        "--host",
                        config.host,
                        "--port",
                        str(config.firestore_port),
                        "--admin-port",
                        str(config.firestore_admin_port),
                    ],
                    f"http://{config.host}:{config.firestore_admin_port}/health",
                    logs / "firestore.log",
                    base_env,
                    FIRESTORE_LAUNCHER.parent,
                    listens=f"{config.firestore_host} (gRPC)",
                )
            )
        specs.append(
            ProcessSpec(
                "functions",
                [
                    str(bin_dir / "functions-framework"),
                    "--source",
                    str(FUNCTIONS_SOURCE),
                    "--target",
                    "on_upload",
                    "--signature-type",
                    "cloudevent",
                    "--host",
                    config.host,
                    "--port",
                    str(config.functions_port),
                ],
                config.functions_url,
                logs / "functions.log",
                # THREADS: request threads, as Terraform sets them on the deployed function
                {**base_env, "THREADS": str(Settings.threads), **config.jobs_env, **config.function_env},
                FUNCTIONS_SOURCE.parent,
                listens=f"{config.functions_url} (on_upload, CloudEvent)",
            )
        )
        specs.append(
            ProcessSpec(
                "panel",
                [
                    str(bin_dir / "functions-framework"),
                    "--source",
                    str(FUNCTIONS_SOURCE),
                    "--target",
                    "panel",
                    "--signature-type",
                    "http",
                    "--host",
                    config.host,
                    "--port",
                    str(config.panel_port),
                ],
                f"{config.panel_url}/health",
                logs / "panel.log",
                {
                    **base_env,
                    "THREADS": str(Settings.threads),
                    "CATALOGIST_PANEL_AUTH": "dev",
                    "CATALOGIST_REVIEWERS": config.reviewers,
                    "CATALOGIST_PANEL_SECRET": _panel_secret(config.data_dir),
                    **config.function_env,
                },
                FUNCTIONS_SOURCE.parent,
                listens=f"{config.panel_url} (review panel; sign in as one of {config.reviewers})",
            )
        )
        specs.append(
            ProcessSpec(
                "bridge",
                [
                    sys.executable,
                    "-m",
                    "catalogist_infra.bridge",
                    "--bucket",
                    config.uploads_bucket,
                    "--target",
                    config.functions_url,
                    "--storage-host",
                    config.storage_url,
                    "--project",
                    config.project,
                    "--host",
                    config.host,
                    "--port",
                    str(config.bridge_port),
                ],
                f"{config.bridge_url}/health",
                logs / "bridge.log",
                base_env,
                REPO,
                listens=f"{config.bridge_url}/health, watching gs://{config.uploads_bucket}",
            )
        )
        return specs

    def _create_buckets(self) -> None:
        from google.api_core import exceptions as gexc

        client = storage_client(self.config)
        for name in (self.config.uploads_bucket, self.config.models_bucket):
            with contextlib.suppress(gexc.Conflict):  # kept from an earlier run
                client.create_bucket(name)

    def _save_state(self) -> None:
        state = {
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.config).items()},
            "processes": {name: p.pid for name, p in self._processes.items()},
        }
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        # written aside and renamed: `dev down` (or a test) reading it mid-write saw an empty file
        partial = self.config.state_file.with_suffix(".json.partial")
        partial.write_text(json.dumps(state, indent=2))
        partial.replace(self.config.state_file)


def _panel_secret(data_dir: Path) -> str:
    """One random secret per data folder, so a restarted stack keeps its sign-ins."""
    path = data_dir / "panel-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def storage_client(config: StackConfig) -> Any:
    """The official Storage client, pointed at this stack's emulator."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[attr-defined]  # no type information

    return storage.Client(
        project=config.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": config.storage_url},
    )


def firestore_client(config: StackConfig) -> Any:
    """The official Firestore client, pointed at this stack's emulator."""
    from google.cloud import firestore

    # The client reads the emulator address from the environment once, when it is built;
    # restore the environment so child processes started later see what the user set.
    before = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = config.firestore_host
    try:
        return firestore.Client(project=config.project)
    finally:
        if before is None:
            del os.environ["FIRESTORE_EMULATOR_HOST"]
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = before


def stop_recorded(data_dir: Path) -> list[str]:
    """Stop the stack recorded in `data_dir`; the names of the parts stopped."""
    state_file = data_dir / "stack.json"
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    stopped = []
    for name, pid in reversed(list(state["processes"].items())):
        if group_alive(pid):
            stop_group(pid)
            stopped.append(name)
    stopped += stop_import_jobs(data_dir)
    state_file.unlink(missing_ok=True)
    return stopped


def stop_import_jobs(data_dir: Path) -> list[str]:
    """Stop the local import jobs the stack's function started that still run (each in a session
    of its own, so it outlives a request): with the emulators gone they could only fail. Each is
    recorded as `<name>.pid` in the jobs' log folder, and stopped only if that process still is
    the job (`--job_name=<name>` on its command line)."""
    stopped = []
    for pid_file in sorted((data_dir / "logs" / "jobs").glob("*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if f"--job_name={pid_file.stem}".encode() in command and group_alive(pid):
            stop_group(pid, grace=2.0)
            stopped.append(pid_file.stem)
    return stopped


def _refuse_if_running(config: StackConfig) -> None:
    if not config.state_file.exists():
        return
    state = json.loads(config.state_file.read_text())
    alive = [name for name, pid in state["processes"].items() if group_alive(pid)]
    if alive:
        raise StackError(
            f"a stack is already running from {config.data_dir} ({', '.join(alive)}): "
            "stop it with `catalogist dev down`"
        )
    config.state_file.unlink()


# Below Linux's ephemeral range (32768-60999 by default). A port the kernel hands out for a bind
# to port 0 comes from that range, and any outgoing connection can take it before the process it
# was found for listens on it: a test stack's Firestore emulator once lost its port that way.
LISTEN_PORTS = range(20000, 32768)


def listen_ports() -> range:
    """`LISTEN_PORTS`, or the part of it `CATALOGIST_LISTEN_PORTS` ("FIRST-LAST") names.

    A port found free is free only until its process binds it, seconds later; two stacks picking
    at once from one range can pick the same port in between. Runners of several stacks at once
    (the test workers, CI shards) give each its own range, so they never pick from the same one.
    """
    named = os.environ.get("CATALOGIST_LISTEN_PORTS", "").strip()
    if not named:
        return LISTEN_PORTS
    try:
        first, last = (int(part) for part in named.split("-"))
    except ValueError:
        raise StackError(f"CATALOGIST_LISTEN_PORTS={named!r}: expected FIRST-LAST, such as 20000-25999") from None
    if not 1024 <= first <= last <= 65535:
        raise StackError(f"CATALOGIST_LISTEN_PORTS={named!r}: expected 1024 <= FIRST <= LAST <= 65535")
    return range(first, last + 1)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing holds on `host`, from `listen_ports()`."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` different ports nothing holds on `host`, from `listen_ports()`. Different from one
    another too: they are probed before any is bound, so separate `free_port` calls can return
    the same port twice, and two parts of one stack then race for it."""
    ports = listen_ports()
    found: list[int] = []
    for _ in range(200 * count):
        port = secrets.choice(ports)
        if port in found:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise StackError(f"no {count} free ports on {host} in {ports.start}-{ports.stop - 1}")


def _require_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise StackError(
                f"port {port} on {host} is in use: choose another with the --*-port flags or stop what holds it"
            ) from None


def finished_uploads(documents: Any, bucket: str, blobs: Iterable[Any]) -> dict[str, dict[str, Any]] | None:
    """The ledger entries of these uploaded objects by name once the function has finished each
    (`done` or `rejected`, no longer `received`); None while any is still pending. A probe for
    `wait_until`."""
    from catalogist.intake.ledger import COLLECTION, upload_id

    ledger = documents.collection(COLLECTION)
    entries = {}
    for blob in blobs:
        snapshot = ledger.document(upload_id(bucket, blob.name, str(blob.generation))).get()
        if not snapshot.exists or snapshot.get("status") == "received":
            return None
        entries[blob.name] = snapshot.to_dict()
    return entries


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.1) -> T | None:
    """Poll `predicate` until it returns something truthy; None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None
