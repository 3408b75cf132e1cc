"""`wasmesh plan`: the cost report on the command line, its JSON, `--write` and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import wasmesh

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"


@pytest.mark.slow
def test_prints_the_per_edge_table_and_a_recommendation() -> None:
    r = wasmesh("plan", EXAMPLE, "--requests", "20", "--repeats", "2")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "app shop: 20 requests x 2 rounds per topology"
    header = next(line for line in lines if "calls/req" in line)
    for column in ("edge", "bytes/call", "fused", "host-linked", "cross-host", "in app"):
        assert column in header
    tax = next(line for line in lines if "front → shop:pricing/tax@0.1.0" in line)
    cells = [c.strip() for c in tax.split("│")[1:-1]]
    assert cells[1] == "2" and int(cells[2]) > 0
    assert cells[3].endswith("]") and " ns [" in cells[3]  # fused: nanoseconds
    assert " µs [" in cells[4]  # host-linked: microseconds
    assert " ms [" in cells[5]  # across hosts: milliseconds
    for name in ("monolith", "per-component", "current (= monolith)"):
        assert any(line.startswith(f"│ {name} ") for line in lines), name
    assert "recommended: fuse the hot edges" in r.out
    assert r.out.rstrip().endswith('units = {main = ["front", "presentation", "receipt", "tax"]}')
    assert "plan: measuring calls across hosts" in r.err  # progress on stderr


@pytest.mark.slow
def test_json_and_write_round_trip(tmp_path: Path) -> None:
    app = tmp_path / "shop"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns(".wasmesh"))
    r = wasmesh("plan", app, "--requests", "10", "--repeats", "2", "--no-cross-host",
                "--max-p99", "100000", "--json", "--write")  # fmt: skip
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["app"] == "shop" and data["requests"] == 10 and data["repeats"] == 2
    units = data["recommendation"]["units"]
    assert sorted(map(tuple, units.values())) == [("front",), ("presentation",), ("receipt",),
                                                   ("tax",)]  # fmt: skip
    assert "within 100000 ms" in data["recommendation"]["reason"]
    text = (app / "wasmesh.toml").read_text()
    assert text.startswith("# A shop's pricing")  # comments kept
    assert "strategy" not in text
    assert 'units = {front = ["front"], presentation = ["presentation"]' in text
    built = wasmesh("build", app, "--json")
    assert built.code == 0, built.err
    assert sorted(json.loads(built.out)["units"]) == sorted(units)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "/nonexistent/app"), "cannot read /nonexistent/app: no such file"),
        (("plan", EXAMPLE, "--max-p99", "0"), "--max-p99 must be a positive number"),
        (("plan", EXAMPLE, "--max-p99", "-3"), "--max-p99 must be a positive number"),
        (("plan", EXAMPLE, "--requests", "0"), "--requests and --repeats must be at least 1"),
        (("plan", EXAMPLE, "--load", "/nonexistent/load.txt"), "no such file; check --load"),
    ],
)
def test_bad_input_is_one_sentence(args: tuple[str | Path, ...], message: str) -> None:
    r = wasmesh(*args)
    assert r.code == 2, r.out
    assert message in r.err
    assert "Traceback" not in r.err


def test_a_bad_load_line_names_its_place(tmp_path: Path) -> None:
    load = tmp_path / "load.txt"
    load.write_text("GET /quote/health\nquote(\n")
    r = wasmesh("plan", EXAMPLE, "--load", load)
    assert r.code == 2
    assert f"{load}:2: `quote(` is neither an HTTP request" in r.err


@pytest.mark.slow
def test_a_load_calling_a_missing_export(tmp_path: Path) -> None:
    load = tmp_path / "load.txt"
    load.write_text("nope(1)\n")
    r = wasmesh("plan", EXAMPLE, "--load", load, "--no-cross-host")
    assert r.code == 2
    assert "app `shop` has no export `nope`" in r.err


@pytest.mark.slow
def test_a_load_the_app_mostly_refuses_is_refused(tmp_path: Path) -> None:
    load = tmp_path / "load.txt"
    good = (EXAMPLE / "wasmesh-load.txt").read_text().splitlines()[1]  # a POST /quote/fr
    load.write_text(f"GET /nowhere\nGET /elsewhere\n{good}\n")
    r = wasmesh("plan", EXAMPLE, "--load", load, "--no-cross-host", "--requests", "5",
                "--repeats", "1")  # fmt: skip
    assert r.code == 2, r.out
    assert ("2 of the load's 3 HTTP requests were answered outside 2xx (`GET /nowhere`: 404)"
            in r.err)  # fmt: skip
    assert "Traceback" not in r.err and r.out == ""


def test_a_cost_noise_put_below_zero_shows_as_zero() -> None:
    from wasmesh.cli.plan import _figure
    from wasmesh.observe.stats import Figure

    assert _figure(Figure(2e-7, -1e-7, 5e-7)) == "200.0 ns [0.0..500.0]"
    assert _figure(Figure(-3e-6, -4e-6, 1e-6)) == "0.0 ns [0.0..1000.0]"
