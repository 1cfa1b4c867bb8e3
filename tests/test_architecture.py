"""The package's shape: no import cycles, the verifier independent of the solver, the README's
Python example runs as written and prints what it promises."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "redistrict"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The package modules ``path`` imports at run time (imports for type hints only are left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hints = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    own = _module(path)
    package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in hints or not isinstance(node, ast.ImportFrom):
            continue
        base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
        target = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
        for alias in node.names:
            name = f"{target}.{alias.name}"
            module = name if (ROOT / (name.replace(".", "/") + ".py")).exists() else target
            if module.startswith("redistrict") and module not in (own, "redistrict"):
                found.add(module)
    return found


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        for target in _imports(path):
            graph.add_edge(_module(path), target)
    return graph


def test_there_are_no_import_cycles():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_verifier_shares_no_code_with_the_solver():
    reachable = nx.descendants(_graph(), "redistrict.verify")
    assert not {m for m in reachable if m.startswith("redistrict.model") or m in ("redistrict.solve", "redistrict.pieces")}


def test_the_readme_python_example_runs_and_prints_true(monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Python API\n```python\n(.*?)```", readme, re.S).group(1)
    example = block.split("# a prebuilt networkx graph")[0].replace("time_limit=300", "time_limit=30")
    assert "print(rd.verify_plan(problem, plan.assignment).ok)" in example
    printed = io.StringIO()
    monkeypatch.chdir(ROOT)
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "README.md", "exec"), {"__name__": "readme"})
    assert printed.getvalue().split() == ["True"]
