"""House rules that keep the tree's architecture: import direction, no circles, small modules.

The import graph is read from the source (every ``import`` statement, module level and inside
functions) of ``robustrank/`` and the built-in plugin packages; an edge points from a file to the
file it imports. The rules:

* no import circle among robustrank's modules;
* the core never imports the built-in plugins (they use the public API, not the reverse);
* the foundations (records, text, stats, metrics, errors, seeds, lexicon, data, rankers, config)
  never import tasks, the orchestrator (audit, context, cli), executors, report or gate;
* executors and tasks never import the orchestrator;
* no module is longer than 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"robustrank": ROOT / "robustrank", "robustrank_attacks": ROOT / "attacks" / "robustrank_attacks", "robustrank_defenses": ROOT / "defenses" / "robustrank_defenses"}
MAX_LINES = 400

ORCHESTRATOR = ("robustrank.audit", "robustrank.context", "robustrank.cli")
FOUNDATIONS = (
    "robustrank.records", "robustrank.text", "robustrank.stats", "robustrank.metrics", "robustrank.errors", "robustrank.seeds",
    "robustrank.lexicon", "robustrank.schema_base", "robustrank.data", "robustrank.rankers", "robustrank.config", "robustrank.plugins",
    "robustrank.results", "robustrank.memory",
)
UPPER = ("robustrank.tasks", "robustrank.executors", "robustrank.report", "robustrank.gate", "robustrank.api", *ORCHESTRATOR)
LEAVES = ("robustrank.gate.expr",)
"""Modules of an upper package that the foundations may import because they import nothing but
foundations themselves (the gate's condition grammar: the config validates conditions with it)."""


def _modules() -> dict[str, Path]:
    out = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [pkg, *rel.parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> modules it imports (only modules of the three packages)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # "from pkg import submodule" imports the submodule
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                r = _resolve(t, modules)
                if r and r != mod:
                    graph[mod].add(r)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def _under(mod: str, prefixes: tuple[str, ...]) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every edge that breaks an import-direction rule."""
    out = []
    for src, dsts in graph.items():
        for dst in dsts:
            if src.startswith("robustrank.") or src == "robustrank":
                if dst.startswith(("robustrank_attacks", "robustrank_defenses")):
                    out.append(f"core imports a plugin: {src} -> {dst}")
            if _under(src, FOUNDATIONS) and _under(dst, UPPER) and dst not in LEAVES:
                out.append(f"foundation imports an upper floor: {src} -> {dst}")
            if _under(src, ("robustrank.tasks", "robustrank.executors", "robustrank.adversarial")) and _under(dst, ORCHESTRATOR):
                out.append(f"imports the orchestrator: {src} -> {dst}")
    return sorted(out)


@pytest.fixture(scope="module")
def graph():
    return import_graph(_modules())


def test_no_import_circle(graph):
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_import_direction(graph):
    assert violations(graph) == []


def test_leaves_stay_leaves(graph):
    assert {leaf: {d for d in graph[leaf] if not _under(d, FOUNDATIONS)} for leaf in LEAVES} == {leaf: set() for leaf in LEAVES}


def test_modules_are_small():
    long = {str(p.relative_to(ROOT)): n for p in _modules().values() if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_catch_what_they_guard_against(graph):
    """Mutants: a planted circle, a planted upward import and a planted plugin import are found."""
    g = {k: set(v) for k, v in graph.items()}
    g["robustrank.records"].add("robustrank.stats")
    g["robustrank.stats"].add("robustrank.records")
    assert find_cycle(g) is not None
    g = {k: set(v) for k, v in graph.items()}
    g["robustrank.rankers.base"].add("robustrank.tasks.iid")
    g["robustrank.tasks.iid"].add("robustrank.audit")
    g["robustrank.metrics"].add("robustrank_attacks.prada")
    found = violations(g)
    assert any("rankers.base -> robustrank.tasks.iid" in v for v in found)
    assert any("tasks.iid -> robustrank.audit" in v for v in found)
    assert any("metrics -> robustrank_attacks.prada" in v for v in found)
