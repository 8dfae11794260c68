"""`catalogist`: one program for the local stack, training, evaluation and imports.

Every flag has an environment-variable twin (named in its help), as in functions-framework.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from catalogist.flags import add_flag
from catalogist_infra.dev import add_release_flags, add_stack_flags, dev_down, dev_up
from catalogist_infra.processes import StackError
from catalogist_infra.stack import REPO


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalogist",
        description="Catalogist: vendor photos and price lists in, categorized and priced products out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser(
        "dev",
        help="run the local stack (emulators, functions, event bridge)",
        description="Run the whole system on this machine, on loopback.",
    )
    dev_commands = dev.add_subparsers(dest="dev_command", required=True, metavar="ACTION")
    up = dev_commands.add_parser(
        "up",
        help="start the stack; Ctrl-C stops it",
        description="Start Storage and Firestore emulators, the functions and the "
        "event bridge; wait until each answers its health check.",
    )
    add_stack_flags(up, REPO / ".catalogist" / "dev")
    add_release_flags(up)
    up.add_argument("--detach", action="store_true", help="return once healthy; stop later with `dev down`")
    up.set_defaults(func=dev_up)
    down = dev_commands.add_parser(
        "down",
        help="stop a stack started with --detach",
        description="Stop every process of the stack recorded in the data folder.",
    )
    add_flag(
        down,
        "--data-dir",
        "CATALOGIST_DEV_DATA_DIR",
        "the stack's data folder",
        default=str(REPO / ".catalogist" / "dev"),
    )
    down.set_defaults(func=dev_down)

    demo = commands.add_parser(
        "demo",
        help="the main job: the local stack on a real example",
        description="Start the stack, upload sample photos and a vendor file, "
        "wait for the results in Firestore, print them, stop.",
    )
    add_stack_flags(demo, REPO / ".catalogist" / "demo")
    from catalogist_infra import demo as demo_module

    demo_module.add_arguments(demo)
    demo.set_defaults(func=demo_module.run)

    from catalogist_infra import import_file

    import_file.add_parser(commands)

    from catalogist_infra import export_reviews, release, rescore, retry, upgrade

    export_reviews.add_parser(commands)
    release.add_parser(commands)
    retry.add_parser(commands)
    rescore.add_parser(commands)
    upgrade.add_parser(commands)

    for name, help_text, register in (
        ("train", "train a model (classifier, textcat, price)", "register_train"),
        ("evaluate", "evaluate an exported model and write metrics.json + report.html", "register_evaluate"),
        ("prepare", "prepare training data (photos: pack them into TFRecord shards)", "register_prepare"),
        (
            "calibrate",
            "set a release's thresholds again from labelled photos it never trained on",
            "register_calibrate",
        ),
    ):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        models = sub.add_subparsers(dest="model", required=True, metavar="MODEL")
        for module in ("catalogist_training.cli", "catalogist_training.vendor_cli"):
            if hasattr(_module(module), register):
                _register(module, register, models)
    return parser


def _module(module_name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return None


def _register(module_name: str, function_name: str, subparsers: Any) -> None:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return
    getattr(module, function_name)(subparsers)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("train", "prepare", "calibrate"):
        from catalogist_training.release_manifest import record_command

        record_command(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if isinstance(error, StackError):
            print(f"catalogist: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    raise SystemExit(main())
