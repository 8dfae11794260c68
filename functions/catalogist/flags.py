"""Command-line flags with environment-variable twins, as functions-framework has them: every
flag's default is its environment variable when set, and `--help` names the variable."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def add_flag(
    parser: argparse.ArgumentParser,
    flag: str,
    env: str,
    help: str,
    *,
    type: Callable[[str], Any] = str,
    default: Any = None,
    required: bool = False,
    choices: Sequence[Any] | None = None,
    action: str | None = None,
) -> None:
    """`action="store_true"` makes a switch, `--no-…` its opposite, so a command line can turn
    off what the environment turned on; a variable that is neither on nor off is refused (a
    typo must not silently mean off). `required` is met by the variable as well."""
    raw = os.environ.get(env, "").strip()
    if action == "store_true":
        word = raw.lower()
        if word and word not in TRUE_WORDS + FALSE_WORDS:
            words = f"on ({'/'.join(TRUE_WORDS)}) nor off ({'/'.join(FALSE_WORDS)})"
            parser.exit(2, f"{parser.prog}: error: {env}={raw!r} is neither {words}\n")
        on = word in TRUE_WORDS if word else bool(default)
        # argparse reads any "--no-…" spelling of a BooleanOptionalAction as off, so a switch
        # that is itself named "--no-…" (--no-baseline) stays a plain one
        action_class = "store_true" if flag.startswith("--no-") else argparse.BooleanOptionalAction
        parser.add_argument(flag, action=action_class, default=on, help=f"{help} (env {env})")
        return
    value = type(raw) if raw else default
    shown = f"; default {default}" if default not in (None, "") else ""
    parser.add_argument(
        flag,
        type=type,
        default=value,
        required=required and value is None,
        choices=choices,
        help=f"{help} (env {env}{shown})",
    )
