"""Command-line flags with environment-variable twins, as functions-framework has them: every
flag's default is its environment variable when set, and `--help` names the variable."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

TRUE_WORDS = ("1", "true", "yes", "on")


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
    """`action="store_true"` makes a switch; `required` is met by the variable as well."""
    raw = os.environ.get(env, "").strip()
    if action == "store_true":
        on = raw.lower() in TRUE_WORDS if raw else bool(default)
        parser.add_argument(flag, action="store_true", default=on, help=f"{help} (env {env})")
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
