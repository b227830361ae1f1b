"""Bounded, strict YAML loading for ``model.yaml`` and gate policy files.

``yaml.safe_load`` constructs only plain data, but it still accepts a file that is not UTF-8
(a ``UnicodeDecodeError`` traceback), duplicate keys (the last one silently wins) and alias
bombs (a few hundred bytes of ``&a``/``*a`` references that expand to billions of nodes as soon
as anything walks or serialises the data, e.g. the resume fingerprint). :func:`load_yaml_file`
rejects all three with one-line errors naming the file (and line), and bounds the file size,
the nesting depth and the expanded node count. :func:`check_bounded` applies the same expanded
size/depth bounds to an already-built mapping (free-form ``ranker.options`` given from code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from robustrank.errors import ConfigError, RobustRankError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "check_bounded", "load_yaml_file", "load_yaml_text"]

MAX_BYTES = 4 * 1024 * 1024
"""Largest YAML file read (a model.yaml is a few KiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings/lists."""
MAX_NODES = 200_000
"""Most nodes after expanding every alias (counts each use of an anchor in full)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys and bounds the expanded document."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # SafeConstructor reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_node_bounds(node)
        return self.construct_document(node)


class _TooBig(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any = None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


def _check_node_bounds(root: yaml.Node) -> None:
    """Expanded size and depth of a composed node graph (aliases share node objects)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    # iterative post-order walk over distinct nodes; sizes are memoised so the walk is linear
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            kids = _children(node)
            size[nid] = 1 + sum(size[id(k)] for k in kids)
            depth[nid] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[nid] > MAX_NODES:
                raise _TooBig(f"document expands to more than {MAX_NODES} nodes (alias bomb?)", node.start_mark)
            if depth[nid] > MAX_DEPTH:
                raise _TooBig(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark)
            continue
        if nid in size:
            continue
        if nid in on_path:
            raise _TooBig("recursive alias", node.start_mark)
        on_path.add(nid)
        stack.append((node, True))
        for k in _children(node):
            if id(k) not in size:
                stack.append((k, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml_text(text: str, source: str, *, error: type[RobustRankError] = ConfigError) -> Any:
    """Parse YAML text strictly; errors are one line ``source[:line]: reason``."""
    if len(text) > MAX_BYTES:
        raise error(f"{source}: file larger than {MAX_BYTES // (1024 * 1024)} MiB; not a model.yaml")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "YAML error" if isinstance(exc, _TooBig) or "duplicate key" in str(problem) else "YAML syntax error"
        raise error(f"{where}: {kind}: {problem}") from None
    except RecursionError:
        raise error(f"{source}: YAML error: nesting too deep") from None


def load_yaml_file(path: str | Path, *, error: type[RobustRankError] = ConfigError) -> Any:
    """Read and parse a YAML file strictly (UTF-8, bounded, no duplicate keys).

    Raises:
        ConfigError (or ``error``): unreadable, too large, not UTF-8, YAML syntax error,
            duplicate key, alias bomb or too deep; the message names the file and line.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"{p}: cannot read config: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise error(f"{p}: file larger than {MAX_BYTES // (1024 * 1024)} MiB; not a model.yaml")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"{p}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    return load_yaml_text(text, str(p), error=error)


def check_bounded(value: Any, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH, what: str = "value") -> None:
    """Raise ValueError when ``value`` (dicts/lists, shared references counted in full) has more
    than ``max_nodes`` nodes or is nested deeper than ``max_depth``. Stops early: linear in
    ``max_nodes`` at worst, whatever the expanded size."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, d = stack.pop()
        count += 1
        if count > max_nodes:
            raise ValueError(f"{what} is too large (more than {max_nodes} nested values)")
        if d > max_depth:
            raise ValueError(f"{what} is nested deeper than {max_depth} levels")
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
            count += len(node)  # keys
        elif isinstance(node, (list, tuple)):
            stack.extend((v, d + 1) for v in node)
