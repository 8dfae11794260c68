"""Package dependencies point one way: serving code never imports training or infra, no two
packages import each other (directly or round a longer circle), and nothing imports another
package's private names. Read from the code's own imports with `ast`, so this is the command
that shows the structure: `pytest tests/unit/test_package_boundaries.py -q`."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.support import REPO

ROOTS = {
    "catalogist": REPO / "functions" / "catalogist",
    "catalogist_training": REPO / "training" / "catalogist_training",
    "catalogist_infra": REPO / "infra" / "catalogist_infra",
    "catalogist_batch": REPO / "batch" / "catalogist_batch",
}


def package_of(module: str) -> str:
    """`catalogist.models.textcat` -> `catalogist.models`; a top-level module of `catalogist`
    (settings, ports, errors, wiring, …) is a package of its own; the other roots are one each."""
    parts = module.split(".")
    if parts[0] != "catalogist" or len(parts) == 1:
        return parts[0]
    return "catalogist." + parts[1]


def imports() -> list[tuple[str, str, str, Path]]:
    """(importing module, imported module, imported name or "", file) for every import of ours."""
    found = []
    for root, folder in ROOTS.items():
        for path in folder.rglob("*.py"):
            module = ".".join((root, *path.relative_to(folder).with_suffix("").parts)).removesuffix(".__init__")
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    for alias in node.names:
                        # `from catalogist.documents import products` imports the module catalogist.documents.products
                        submodule = _module_file(f"{node.module}.{alias.name}")
                        found.append((module, submodule or node.module, "" if submodule else alias.name, path))
                elif isinstance(node, ast.Import):
                    found += [(module, alias.name, "", path) for alias in node.names]
    return [(a, b, name, path) for a, b, name, path in found if b.split(".")[0] in ROOTS]


def _module_file(module: str) -> str:
    """`module` if it names a module or package of ours, else ""."""
    root, *rest = module.split(".")
    if root not in ROOTS:
        return ""
    path = ROOTS[root].joinpath(*rest)
    return module if path.is_dir() or path.with_suffix(".py").is_file() else ""


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported, _, _ in imports():
        source, target = package_of(importer), package_of(imported)
        if source != target:
            graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in list(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_two_packages_import_each_other():
    assert cycles(package_graph()) == []


def test_no_two_modules_import_each_other():
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported, _, _ in imports():
        if importer != imported:
            graph[importer].add(imported)

    assert cycles(graph) == []


def test_serving_code_never_imports_training_or_infra():
    serving = {p for p in package_graph() if p.startswith("catalogist.") or p == "catalogist"}
    reached = {target for p in serving for target in package_graph()[p]}
    assert not reached & {"catalogist_training", "catalogist_infra", "catalogist_batch"}


def test_the_pipelines_run_the_function_s_code_and_nothing_imports_them():
    """Beam is in the batch environment only: no other package may import the pipelines (the
    CLI starts them as a process), and they import serving code, never training or the CLI."""
    graph = package_graph()
    assert not any("catalogist_batch" in targets for source, targets in graph.items() if source != "catalogist_batch")
    assert graph["catalogist_batch"] and not graph["catalogist_batch"] & {"catalogist_training", "catalogist_infra"}


def test_no_package_imports_another_s_private_names():
    private = [
        f"{path.relative_to(REPO)}: {imported}.{name}"
        for importer, imported, name, path in imports()
        if package_of(importer) != package_of(imported)
        and (name.startswith("_") or any(part.startswith("_") for part in imported.split(".")))
    ]
    assert private == []


def test_a_package_is_used_only_through_the_modules_its_init_names():
    """A subpackage's `__all__` is its public surface: another package imports those modules or
    names, never the subpackage's other modules."""
    import importlib

    outside = []
    for importer, imported, _, path in imports():
        parts = imported.split(".")
        if parts[0] != "catalogist" or len(parts) < 3 or package_of(importer) == package_of(imported):
            continue
        public = getattr(importlib.import_module(".".join(parts[:2])), "__all__", None)
        if public is not None and parts[2] not in public:
            outside.append(f"{path.relative_to(REPO)}: {imported}")
    assert outside == []
