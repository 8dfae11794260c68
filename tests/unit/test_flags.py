"""Switches with environment-variable twins: the command line wins both ways, and a variable
that is neither on nor off is refused instead of read as off."""

from __future__ import annotations

import argparse

import pytest

from catalogist.flags import add_flag

ENV = "CATALOGIST_TEST_SWITCH"


def switch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catalogist train textcat")
    add_flag(parser, "--include-test-split", ENV, "learn from the test split too", action="store_true")
    return parser


def test_the_command_line_overrides_the_variable_either_way(monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert switch_parser().parse_args([]).include_test_split is False
    monkeypatch.setenv(ENV, "yes")
    assert switch_parser().parse_args([]).include_test_split is True
    assert switch_parser().parse_args(["--no-include-test-split"]).include_test_split is False
    monkeypatch.setenv(ENV, "off")
    assert switch_parser().parse_args([]).include_test_split is False
    assert switch_parser().parse_args(["--include-test-split"]).include_test_split is True


def test_a_variable_neither_on_nor_off_is_refused_with_its_name(monkeypatch, capsys) -> None:
    monkeypatch.setenv(ENV, "ture")
    with pytest.raises(SystemExit) as exited:
        switch_parser()
    assert exited.value.code == 2
    assert f"{ENV}='ture' is neither on" in capsys.readouterr().err


def test_a_switch_named_no_something_turns_it_off_when_given(monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    parser = argparse.ArgumentParser(prog="catalogist evaluate textcat")
    add_flag(parser, "--no-baseline", ENV, "skip the baseline", action="store_true")

    assert parser.parse_args(["--no-baseline"]).no_baseline is True
    assert parser.parse_args([]).no_baseline is False
