"""The settings a `catalogist` command that talks to the store runs with: the function's own
(`catalogist.settings`), read from the environment and the command's flags, the local stack's
project and models bucket when neither says otherwise."""

from __future__ import annotations

import argparse

from catalogist.settings import Settings, add_setting_flags, from_flags
from catalogist_infra.stack import StackConfig

STORE = ("project", "models_bucket", "firestore_emulator_host")


def add_store_flags(parser: argparse.ArgumentParser, *more: str, **defaults: object) -> None:
    local = StackConfig()
    add_setting_flags(parser, *STORE, *more, project=local.project, models_bucket=local.models_bucket, **defaults)


def command_settings(args: argparse.Namespace, *more: str) -> Settings:
    return from_flags(args, *STORE, *more)
