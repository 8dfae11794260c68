"""terraform/*.tf as plain Python values, read with the HCL parser checkov itself uses.

No Terraform binary is reachable here, so the tests read the configuration as written: each
resource's arguments and blocks, with expressions kept as their source text (`google_storage_bucket
.models.name`, `var.releases.classifier`). The parser wraps every attribute in a one-element list
and every block in a list of bodies; `attr` and `blocks` undo that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tests.terraform import hcl_eval

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
_POSITION_KEYS = ("__start_line__", "__end_line__")


def expr(value: Any) -> Any:
    """An expression's source text without Terraform's `${…}` wrapper; other values unchanged."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{(.*)\}", value, flags=re.DOTALL)
        return match.group(1) if match else value
    return value


def attr(body: dict[str, Any], name: str, default: Any = None) -> Any:
    """An argument's value (`name = …`), as written."""
    if name not in body:
        return default
    value = body[name]
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The nested blocks `name { … }` of a body, in order."""
    return list(body.get(name, []))


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The one nested block `name { … }`; fails if there is not exactly one."""
    found = blocks(body, name)
    assert len(found) == 1, f"expected one {name} block, found {len(found)}"
    return found[0]


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    body: dict[str, Any]
    file: str

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def depends_on(self) -> list[str]:
        raw = attr(self.body, "depends_on", [])
        return [expr(item) for item in (raw if isinstance(raw, list) else [raw])]


@dataclass(frozen=True)
class Terraform:
    resources: tuple[Resource, ...]
    data: tuple[Resource, ...]
    variables: dict[str, dict[str, Any]]
    locals: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    sources: dict[str, str]
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def get(self, address: str) -> Resource:
        type_, _, name = address.partition(".")
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        assert found, f"terraform declares no {address}"
        return found[0]

    def iam_members(self) -> list[Resource]:
        return [
            r
            for r in self.resources
            if "_iam_" in r.type and r.type.endswith(("_iam_member", "_iam_binding", "_iam_policy"))
        ]

    def all_strings(self) -> Iterator[tuple[str, str]]:
        """Every string anywhere in the configuration, with the file it is in."""
        for file, text in self.sources.items():
            yield from ((file, s) for s in _strings(hcl_eval.loads(text)))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _POSITION_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@cache
def load(folder: Path = TERRAFORM) -> Terraform:
    resources: list[Resource] = []
    data: list[Resource] = []
    variables: dict[str, dict[str, Any]] = {}
    local_values: dict[str, Any] = {}
    outputs: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    checks: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        text = path.read_text()
        sources[path.name] = text
        parsed = _clean(hcl_eval.loads(text))
        for kind, into in (("resource", resources), ("data", data)):
            for entry in parsed.get(kind, []):
                for type_, named in entry.items():
                    for name, body in named.items():
                        into.append(Resource(type_, name, body, path.name))
        for entry in parsed.get("variable", []):
            variables.update(entry)
        for entry in parsed.get("locals", []):
            local_values.update(entry)
        for entry in parsed.get("output", []):
            outputs.update(entry)
        for entry in parsed.get("check", []):
            checks.update(entry)
    return Terraform(tuple(resources), tuple(data), variables, local_values, outputs, sources, checks)


@dataclass(frozen=True)
class Workload:
    """One deployed entry point and the environment Terraform gives it."""

    resource: Resource
    entry_point: str
    environment: dict[str, Any]  # name -> value expression
    secrets: dict[str, dict[str, Any]]  # name -> the secret_environment_variables block
    service: dict[str, Any]  # the service_config block

    @property
    def names(self) -> set[str]:
        return set(self.environment) | set(self.secrets)


def workloads(tf: Terraform) -> dict[str, Workload]:
    """Every 2nd-gen function, by entry point."""
    found: dict[str, Workload] = {}
    for function in tf.of_type("google_cloudfunctions2_function"):
        entry_point = attr(block(function.body, "build_config"), "entry_point")
        service = block(function.body, "service_config")
        environment = {name: expr(value) for name, value in attr(service, "environment_variables", {}).items()}
        secrets = {attr(s, "key"): s for s in blocks(service, "secret_environment_variables")}
        assert entry_point not in found, f"two functions serve {entry_point}"
        found[entry_point] = Workload(function, entry_point, environment, secrets, service)
    return found


class _Locals(Mapping[str, Any]):
    """`local.NAME`, evaluated on first use against the variables given."""

    def __init__(self, tf: Terraform, scope: dict[str, Any]) -> None:
        self._tf, self._scope = tf, scope
        self._done: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._done:
            if name not in self._tf.locals:
                raise KeyError(name)
            self._done[name] = hcl_eval.evaluate(attr(self._tf.locals, name), self._scope)
        return self._done[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tf.locals

    def __iter__(self) -> Iterator[str]:
        return iter(self._tf.locals)

    def __len__(self) -> int:
        return len(self._tf.locals)


def scope(tf: Terraform, **given: Any) -> dict[str, Any]:
    """`var` and `local` as `terraform plan` would see them with the variables given (every other
    variable at its default; one without a default must be given)."""
    variables = {}
    for name, body in tf.variables.items():
        spec = hcl_eval.type_of(attr(body, "type")) if "type" in body else hcl_eval.TypeSpec("any")
        if name in given:
            variables[name] = hcl_eval.with_defaults(spec, given[name])
        elif "default" in body:
            variables[name] = hcl_eval.with_defaults(spec, attr(body, "default"))
    names: dict[str, Any] = {"var": variables}
    names["local"] = _Locals(tf, names)
    return names


def failed_validations(tf: Terraform, name: str, names: dict[str, Any]) -> list[str]:
    """The error messages of the validations of variable `name` that refuse its value."""
    failed = []
    for validation in blocks(tf.variables[name], "validation"):
        if hcl_eval.evaluate(attr(validation, "condition"), names) is not True:
            failed.append(attr(validation, "error_message"))
    return failed


_REFERENCE = re.compile(
    r"\b(data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|local\.[a-z0-9_]+|(?:google|time|random|terraform|archive)[a-z0-9_-]*\.[A-Za-z0-9_-]+)"
)


def references(resource: Resource) -> set[str]:
    """The addresses a resource refers to or waits for (`google_x.y`, `data.google_x.y`)."""
    found = set(resource.depends_on())
    for text in _strings(resource.body):
        found.update(_REFERENCE.findall(text))
    return found


def waits_for(tf: Terraform, address: str, target: str) -> bool:
    """Whether `address` reaches `target` through references and depends_on, transitively."""
    everything = {r.address: r for r in tf.resources} | {f"data.{d.address}": d for d in tf.data}
    # a local is followed through to what it refers to
    everything |= {f"local.{name}": Resource("local", name, {"value": value}, "") for name, value in tf.locals.items()}
    seen, todo = set(), [address]
    while todo:
        current = todo.pop()
        if current == target:
            return True
        if current in seen or current not in everything:
            continue
        seen.add(current)
        todo.extend(references(everything[current]) - seen)
    return False


def example_values() -> dict[str, Any]:
    """The variables terraform.tfvars.example sets, as Python values."""
    parsed = hcl_eval.loads((TERRAFORM / "terraform.tfvars.example").read_text())
    return {name: attr(parsed, name) for name in parsed if name not in _POSITION_KEYS}
