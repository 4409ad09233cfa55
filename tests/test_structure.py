"""The house keeps its shape: each layer of autoenc/ imports only the layers below it, no modules
import each other in a circle, no module is over 250 lines and no function over 60."""

import ast

from conftest import ROOT

# autoenc's layers, lowest first (README, "Layout"); packages of one rank do not import each other
RANK = {
    "": 0,
    "data": 1,
    "model": 1,
    "speed": 1,
    "runs": 1,
    "scale": 1,
    "training": 2,
    "inference": 3,
    "report": 4,
    "cli": 5,
}
MODULES = sorted((ROOT / "autoenc").rglob("*.py"))


def name_of(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path) -> set[str]:
    """The autoenc modules this file imports (at any depth of its code: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autoenc"):
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("autoenc")}
    known = {name_of(p) for p in MODULES}
    return {n for n in found if n in known}


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else ""


def test_each_layer_imports_only_the_layers_below_it():
    for path in MODULES:
        here = name_of(path)
        for other in imports(path) - {here, "autoenc"}:
            mine, theirs = package(here), package(other)
            if mine != theirs:
                assert RANK[theirs] < RANK[mine], f"{here} (layer {mine or 'autoenc'}) imports {other} (layer {theirs})"


def test_no_modules_import_each_other_in_a_circle():
    graph = {name_of(p): imports(p) - {name_of(p), "autoenc"} for p in MODULES}

    def visit(node: str, trail: list[str]) -> None:
        assert node not in trail, f"an import circle: {' -> '.join([*trail[trail.index(node) :], node])}"
        for nxt in graph.get(node, ()):
            visit(nxt, [*trail, node])

    for start in graph:
        visit(start, [])


def test_no_module_over_250_lines_and_no_function_over_60():
    for path in [*MODULES, ROOT / "train.py", ROOT / "eval.py"]:
        text = path.read_text()
        assert len(text.splitlines()) <= 250, f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                assert lines <= 60, f"{path.relative_to(ROOT)}: {node.name} is {lines} lines"
