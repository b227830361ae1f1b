"""Built-in attack and defence plugins use robustrank only through its public API (robustrank.api)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLUGIN_FILES = sorted(p for d in ("attacks", "defenses") for p in (REPO / d).rglob("*.py"))
ALLOWED = "robustrank.api"


def robustrank_imports(source: str) -> list[str]:
    """Every robustrank module a Python source imports, at any nesting level.

    ``from robustrank import x`` counts as importing ``robustrank.x``; a bare ``import robustrank``
    counts as ``robustrank`` (which would give access to internals).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "robustrank"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "robustrank":
                found += [f"robustrank.{a.name}" for a in node.names]
            elif node.module.split(".")[0] == "robustrank":
                found.append(node.module)
    return found


def test_checker_catches_private_imports():
    src = (
        "import robustrank.api\nfrom robustrank.api import Edit\nfrom robustrank import api\n"
        "def f():\n    from robustrank.lexicon import Lexicon\nfrom robustrank import text\nimport robustrank\n"
    )
    got = robustrank_imports(src)
    assert sorted(m for m in got if m != ALLOWED) == ["robustrank", "robustrank.lexicon", "robustrank.text"]
    assert robustrank_imports("import robustrank_attacks._common\nimport numpy\n") == []


def test_plugin_packages_exist():
    assert any(p.parent.name == "robustrank_attacks" for p in PLUGIN_FILES)
    assert any(p.parent.name == "robustrank_defenses" for p in PLUGIN_FILES)


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_robustrank_only_via_api(path):
    bad = [m for m in robustrank_imports(path.read_text("utf-8")) if m != ALLOWED]
    assert not bad, f"{path.relative_to(REPO)} imports {bad}; plugins may use only robustrank.api"
