"""Plugin registry: discovery through entry points, malformed and duplicate plugins, listing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from robustrank.errors import PluginError
from robustrank.plugins import available, load_plugin

REPO = Path(__file__).resolve().parent.parent


def _fake_dist(site: Path, dist: str, group: str, entries: dict[str, str], module: str | None = None, code: str = "") -> None:
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    if module:
        (site / f"{module}.py").write_text(code)


def test_builtins_are_registered_like_third_party_plugins():
    names = {(p.kind, p.name): p for p in available()}
    for key in [("ranker", "bi-encoder"), ("ranker", "http"), ("task", "t1"), ("task", "t2"), ("task", "t3"), ("attack", "prada_wu_2023"), ("defense", "certdr_wu_2022")]:
        assert key in names and names[key].distribution == "robustrank"


def test_unknown_plugin_lists_available():
    with pytest.raises(PluginError, match=r"no ranker plugin named 'nope'; available: .*bi-encoder"):
        load_plugin("ranker", "nope")
    with pytest.raises(PluginError, match="unknown plugin kind"):
        load_plugin("widget", "x")


def test_malformed_and_duplicate_plugins_are_rejected(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    _fake_dist(site, "broken-plugin", "robustrank.attacks", {"broken": "broken_mod:Missing", "hollow": "hollow_mod:Hollow"})
    (site / "broken_mod.py").write_text("raise ImportError('needs a library that is not installed')\n")
    (site / "hollow_mod.py").write_text("class Hollow:\n    name = 'hollow'\n")
    _fake_dist(site, "first-plugin", "robustrank.defenses", {"twin": "os:getcwd"})
    _fake_dist(site, "second-plugin", "robustrank.defenses", {"twin": "os:getpid"})
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError, match=r"attack plugin 'broken' from broken-plugin failed to load \(broken_mod:Missing\): needs a library"):
        load_plugin("attack", "broken")
    with pytest.raises(PluginError, match=r"attack plugin 'hollow' from broken-plugin is malformed: hollow_mod:Hollow lacks attack"):
        load_plugin("attack", "hollow", required=("attack",))
    with pytest.raises(PluginError, match=r"registered more than once \(by first-plugin, second-plugin\)"):
        load_plugin("defense", "twin")
    listed = {(p.name, p.distribution, p.version) for p in available("attack")}
    assert ("hollow", "broken-plugin", "1.2.3") in listed


def test_plugins_cli_lists_distribution_and_version():
    out = subprocess.run([sys.executable, "-m", "robustrank.cli", "plugins"], capture_output=True, text=True, check=True).stdout
    assert any(line.split()[:4] == ["task", "t1", "robustrank", "0.1.0"] for line in out.splitlines())
