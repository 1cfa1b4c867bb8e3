"""Security properties of the package source: no code execution on user input.

Configuration is TOML/JSON only; no module may evaluate strings or unpickle data (Dask moves our
own scenario objects between processes, never the user's files).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "redistrict"
SOURCES = sorted(PACKAGE.rglob("*.py"))
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "yaml"}
FORBIDDEN_ATTRIBUTES = {"read_pickle", "to_pickle", "load_pickle", "unsafe_load"}


def test_there_is_source_to_check():
    assert len(SOURCES) > 20 and PACKAGE / "scenario.py" in SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_eval_exec_or_pickle(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            problems.append(f"line {node.lineno}: {node.func.id}()")
        elif isinstance(node, ast.Import):
            problems += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in FORBIDDEN_MODULES:
            problems.append(f"line {node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            problems.append(f"line {node.lineno}: .{node.attr}")
    assert problems == [], f"{path.name}: {problems}"


def test_the_checker_catches_what_it_looks_for(tmp_path):
    """The test above must be able to fail: run its checks on a file that breaks every rule."""
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\nfrom yaml import load\nx = eval('1')\ny = df.read_pickle\n", encoding="utf-8")
    with pytest.raises(AssertionError) as info:
        test_no_eval_exec_or_pickle(bad)
    for what in ("import pickle", "from yaml", "eval()", ".read_pickle"):
        assert what in str(info.value)
