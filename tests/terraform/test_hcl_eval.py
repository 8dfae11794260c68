"""The expression evaluator the validation and locals tests rely on reads what python-hcl2 gives
back as Terraform would, and refuses what it does not understand instead of guessing."""

from __future__ import annotations

import pytest

from tests.terraform import hcl_eval
from tests.terraform.hcl_eval import EvalError, evaluate, type_of, with_defaults


def _value(source: str, **variables: object) -> object:
    parsed = hcl_eval.loads(f"x = {source}\n")["x"][0]
    return evaluate(parsed, {"var": variables})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("var.a * (var.a > 1 ? 10 : 1) <= 20", True),
        ("var.a >= 1 && var.a <= 16", True),
        ("var.a == null || var.a > 3", False),
        ('!contains(["1", "2"], var.s)', True),
        ('can(regex("^[0-9]+(Mi|Gi)$", var.s))', False),
        ('tonumber(regex("^([0-9]+)(Mi|Gi)$", "1536Mi")[0])', 1536),
        ('var.a > 3 ? "big" : "small"', "small"),
        ('alltrue([for k, v in var.m : startswith(v, "user:")])', True),
        ('join(",", sort(keys(var.m)))', "acme,zeta"),
        ('"gs://${var.s}/tmp"', "gs://0.5/tmp"),
        ('length({ for k, v in var.m : k => v if k != "zeta" })', 1),
    ],
)
def test_expressions_evaluate_as_terraform_would(source: str, expected: object) -> None:
    assert _value(source, a=2, s="0.5", m={"zeta": "user:z@x.y", "acme": "user:a@x.y"}) == expected


def test_what_is_not_understood_is_an_error_not_a_guess() -> None:
    with pytest.raises(EvalError):
        _value("cidrhost(var.s, 1)", s="10.0.0.0/8")
    with pytest.raises(EvalError):
        _value("var.missing + 1")


def test_optional_attributes_get_their_defaults() -> None:
    spec = type_of(hcl_eval.loads("t = object({a = optional(number, 4), b = string, c = optional(string)})\n")["t"][0])

    assert with_defaults(spec, {"b": "x"}) == {"a": 4, "b": "x", "c": None}
    with pytest.raises(EvalError):
        with_defaults(spec, {"a": 1})
