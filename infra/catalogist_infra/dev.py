"""`catalogist dev up|down`: the local stack on this machine, its flags and the releases it serves."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from catalogist.flags import add_flag
from catalogist.models.kinds import KINDS, MANIFEST, ReleaseKind
from catalogist.settings import BY_FIELD
from catalogist_infra.processes import StackError
from catalogist_infra.stack import REPO, RESTARTABLE, Stack, StackConfig, stop_recorded

MAX_RESTARTS_A_MINUTE = 5  # a part that keeps dying is a bug to read about, not to hide


def add_stack_flags(parser: argparse.ArgumentParser, data_dir: Path) -> None:
    defaults = StackConfig()
    flags: list[tuple[str, str, Any, str]] = [
        ("--data-dir", "CATALOGIST_DEV_DATA_DIR", str(data_dir), "folder for emulator data, logs and state"),
        ("--host", "CATALOGIST_DEV_HOST", defaults.host, "loopback address every part listens on"),
        ("--storage-port", "CATALOGIST_DEV_STORAGE_PORT", defaults.storage_port, "Storage emulator port"),
        (
            "--firestore-port",
            "CATALOGIST_DEV_FIRESTORE_PORT",
            defaults.firestore_port,
            "Firestore emulator gRPC port",
        ),
        (
            "--firestore-admin-port",
            "CATALOGIST_DEV_FIRESTORE_ADMIN_PORT",
            defaults.firestore_admin_port,
            "Firestore emulator health/reset port",
        ),
        (
            "--functions-port",
            "CATALOGIST_DEV_FUNCTIONS_PORT",
            defaults.functions_port,
            "on_upload function port",
        ),
        ("--bridge-port", "CATALOGIST_DEV_BRIDGE_PORT", defaults.bridge_port, "event bridge health port"),
        ("--panel-port", "CATALOGIST_DEV_PANEL_PORT", defaults.panel_port, "review panel port"),
        ("--reviewers", "CATALOGIST_REVIEWERS", defaults.reviewers, "emails that may sign in to the local panel"),
        ("--project", "GOOGLE_CLOUD_PROJECT", defaults.project, "project id used by the emulators"),
        (
            "--uploads-bucket",
            "CATALOGIST_UPLOADS_BUCKET",
            defaults.uploads_bucket,
            "bucket vendors upload to",
        ),
        (
            "--models-bucket",
            "CATALOGIST_MODELS_BUCKET",
            defaults.models_bucket,
            "bucket holding model releases",
        ),
    ]
    for flag, env, fallback, help_text in flags:
        add_flag(parser, flag, env, help_text, type=type(fallback), default=fallback)
    add_flag(
        parser,
        "--firestore-emulator-host",
        "FIRESTORE_EMULATOR_HOST",
        "host:port of a Firestore emulator that is already running; none is started then",
    )


def default_release(kind: ReleaseKind) -> Path | None:
    """What dev up serves when no release is named: one trained here (artifacts/<kind>), else
    the reference release committed in models/."""
    for folder in (kind.release_in(REPO / "artifacts" / kind.name), REPO / "models" / kind.name):
        if (folder / MANIFEST).is_file():
            return folder
    return None


def add_release_flags(parser: argparse.ArgumentParser) -> None:
    for kind in KINDS:
        setting = BY_FIELD[kind.setting]
        add_flag(
            parser,
            f"--{kind.name}-release",
            setting.env,
            f"{setting.help} (when unset: artifacts/{kind.name} if trained, else models/{kind.name})",
        )


def release_env(args: argparse.Namespace) -> dict[str, str]:
    """The release locations to hand the function: given ones, else `default_release`.

    A folder is resolved here, against the directory the command was run from (the function
    runs in `functions/`, where a relative path would name another folder), and refused now,
    with its path, when it holds no release, rather than by every upload failing later."""
    env = {}
    for kind in KINDS:
        given = getattr(args, f"{kind.name}_release", None)
        if given and not given.startswith("gs://"):
            folder = kind.release_in(Path(given).expanduser().resolve())
            if not (folder / MANIFEST).is_file():
                raise StackError(f"no {kind.name} release at {folder} (given as {given!r}): it has no {MANIFEST}")
            given = str(folder)
        location = given or default_release(kind)
        if location:
            env[BY_FIELD[kind.setting].env] = str(location)
    return env


def stack_config(args: argparse.Namespace) -> StackConfig:
    return StackConfig(
        data_dir=Path(args.data_dir).resolve(),
        host=args.host,
        storage_port=args.storage_port,
        firestore_port=args.firestore_port,
        firestore_admin_port=args.firestore_admin_port,
        functions_port=args.functions_port,
        bridge_port=args.bridge_port,
        panel_port=args.panel_port,
        reviewers=args.reviewers,
        project=args.project,
        uploads_bucket=args.uploads_bucket,
        models_bucket=args.models_bucket,
        external_firestore=args.firestore_emulator_host,
    )


def print_parts(stack: Stack) -> None:
    print(f"Catalogist local stack (data in {stack.config.data_dir})")
    for part in stack.parts:
        print(f"  {part.name:<10} {part.url:<62} ready in {part.ready_seconds:.2f} s   log: {part.log}")
    if stack.config.external_firestore:
        print(f"  firestore  {stack.config.external_firestore} (already running; not managed here)")
    for name, location in stack.config.function_env.items():
        if name.endswith("_RELEASE"):
            print(f"  serving {name.removeprefix('CATALOGIST_').removesuffix('_RELEASE').lower():<10} {location}")
    jobs = stack.config.jobs_env
    if jobs:
        logs = jobs["CATALOGIST_LOCAL_JOB_LOGS"]
        print(f"  big files imported by jobs on Beam's local runner (as on Dataflow); their logs in {logs}")
    else:
        print("  no batch environment (make install builds batch/.venv): every file is imported in the function")
    print("Talk to it with:\n  " + "\n  ".join(f"export {k}={v}" for k, v in stack.config.client_env().items()))
    print(f"Review panel: {stack.config.panel_url}/  (sign in as {stack.config.reviewers.split(',')[0]})")


def dev_up(args: argparse.Namespace) -> int:
    config = stack_config(args)
    config.function_env.update(release_env(args))
    stack = Stack(config, detached=args.detach)
    started = time.monotonic()
    stack.start()
    print_parts(stack)
    print(f"Up in {time.monotonic() - started:.1f} s.")
    if args.detach:
        print("Stop it with: catalogist dev down")
        return 0
    print("Ctrl-C stops every part.")
    stopping = False

    def request_stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    restarts: list[float] = []
    dead = None
    while not stopping and dead is None:
        time.sleep(0.2)
        dead = stack.first_dead_part()
        if dead in RESTARTABLE and len([t for t in restarts if time.monotonic() - t < 60]) < MAX_RESTARTS_A_MINUTE:
            print(
                f"{dead} exited unexpectedly; starting it again (log: {stack.config.data_dir / 'logs'})",
                file=sys.stderr,
            )
            try:
                stack.restart(dead)
            except StackError as error:
                print(f"{dead} did not come back: {error}", file=sys.stderr)
                break
            restarts.append(time.monotonic())
            print(f"{dead} is running again", file=sys.stderr)
            dead = None
    if dead:
        print(f"{dead} exited unexpectedly; stopping the stack. See its log.", file=sys.stderr)
    stack.stop()
    print("Stopped.")
    return 1 if dead else 0


def dev_down(args: argparse.Namespace) -> int:
    stopped = stop_recorded(Path(args.data_dir).resolve())
    print(f"Stopped: {', '.join(stopped)}" if stopped else "No stack was running.")
    return 0
