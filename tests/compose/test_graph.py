"""`wasmesh graph`: the wiring as a terminal tree, DOT clusters per unit, and SVG."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import wasmesh.cli as cli
from tests.compose.wat_parts import consumer, provider
from wasmesh.compose.graph import render_dot, render_svg, render_tree
from wasmesh.compose.plan import AppPlan, plan_app
from wasmesh.compose.units import UnitPlan
from wasmesh.compose.wiring import WiringGraph
from wasmesh.errors import WasmeshError


def planned(tmp_path: Path, strategy: str) -> AppPlan:
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""
[app]
name = "calc"

[components.app]
source = "{consumer("app:c/run@0.1.0", "t:x/calc@1.0.0")}"

[components.calc]
source = "{provider("t:x/calc@1.0.0")}"
""")
    return plan_app(manifest, cache=tmp_path / "cache", strategy=strategy)


def test_the_tree_shows_units_components_and_links(tmp_path: Path) -> None:
    plan = planned(tmp_path, "monolith")
    console = Console(width=100, record=True, color_system=None)
    console.print(render_tree("calc", plan.graph, plan.plans))
    assert console.export_text().splitlines() == [
        "calc",
        "└── unit main (entry app)",
        "    ├── app exports app:c/run@0.1.0",
        "    │   └── t:x/calc@1.0.0 → calc (composed)",
        "    └── calc exports t:x/calc@1.0.0",
    ]


def test_dot_outlines_units_and_dashes_remote_links(tmp_path: Path) -> None:
    fused = render_dot("calc", *_graph_and_plans(planned(tmp_path, "monolith")))
    assert fused.count("subgraph cluster_") == 1
    assert '"app" -> "calc" [label="t:x/calc"];' in fused
    split = render_dot("calc", *_graph_and_plans(planned(tmp_path, "per-component")))
    assert split.count("subgraph cluster_") == 2
    assert 'label="unit calc"' in split and 'label="unit app"' in split
    assert '"app" -> "calc" [label="t:x/calc", style=dashed];' in split


def _graph_and_plans(plan: AppPlan) -> tuple[WiringGraph, tuple[UnitPlan, ...]]:
    return plan.graph, plan.plans


def test_svg_is_drawn_by_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dot = render_dot("calc", *_graph_and_plans(planned(tmp_path, "per-component")))
    assert shutil.which("dot"), "graphviz is part of the toolchain (toolchain.toml [debian])"
    svg = render_svg(dot)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "unit app" in svg
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here: the error says what to do
    with pytest.raises(WasmeshError, match=r"SVG output needs `dot` from Graphviz; install it"):
        render_svg(dot)


def test_the_graph_command(tmp_path: Path) -> None:
    planned(tmp_path, "monolith")  # writes wasmesh.toml
    cli._register()
    runner = CliRunner()
    tree = runner.invoke(cli.app, ["graph", str(tmp_path)])
    assert tree.exit_code == 0 and "unit main (entry app)" in tree.output
    dot = runner.invoke(
        cli.app, ["graph", str(tmp_path), "-f", "dot", "--strategy", "per-component"]
    )
    assert dot.exit_code == 0 and dot.output.count("subgraph cluster_") == 2
    svg = tmp_path / "wiring.svg"
    assert (
        runner.invoke(cli.app, ["graph", str(tmp_path), "-f", "svg", "-o", str(svg)]).exit_code == 0
    )
    assert "<svg" in svg.read_text()
    bad = runner.invoke(cli.app, ["graph", str(tmp_path), "-f", "png"])
    assert isinstance(bad.exception, WasmeshError)
    assert str(bad.exception) == "unknown format `png`; use tree, dot or svg"


def test_graph_output_is_never_cut_and_bad_paths_are_one_sentence(tmp_path: Path) -> None:
    long = "t:x/" + "very-long-interface-name-" * 4 + "end@1.0.0"
    (tmp_path / "wasmesh.toml").write_text(f"""
[app]
name = "calc"

[components.app]
source = "{consumer("app:c/run@0.1.0", long)}"

[components.calc]
source = "{provider(long)}"
""")
    cli._register()
    runner = CliRunner()
    piped = runner.invoke(cli.app, ["graph", str(tmp_path)])
    assert piped.exit_code == 0 and f"{long} → calc (composed)" in piped.output
    written = tmp_path / "tree.txt"
    assert runner.invoke(cli.app, ["graph", str(tmp_path), "-o", str(written)]).exit_code == 0
    assert f"{long} → calc (composed)" in written.read_text()
    for fmt in ("tree", "dot", "svg"):
        missing = tmp_path / "nonexistent" / "dir" / f"x.{fmt}"
        bad = runner.invoke(cli.app, ["graph", str(tmp_path), "-f", fmt, "-o", str(missing)])
        assert isinstance(bad.exception, WasmeshError), bad.exception
        assert "no directory" in str(bad.exception) and "\n" not in str(bad.exception)
    unwritable = tmp_path / "adir"
    unwritable.mkdir()
    bad = runner.invoke(cli.app, ["graph", str(tmp_path), "-f", "dot", "-o", str(unwritable)])
    assert isinstance(bad.exception, WasmeshError), bad.exception
    assert "cannot write" in str(bad.exception)
