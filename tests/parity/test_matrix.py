"""The parity matrix: one probe app asked the same questions through every path wasmesh offers,
each path answering exactly what the manifest (or the equivalent flags) grants, and nothing else.

Rows are cases (a grant used, a grant missing, a limit hit), columns are paths. An answer is the
JSON value the probe returns, or `Failed(kind)` for the documented failure of a limit: a
command-line call exits 1 saying why, an HTTP request gets 504 (time or fuel) with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.parity.conftest import (
    CONFIG,
    GRANTED,
    INHERITED,
    LIMIT_FLAGS,
    RECIPE,
    STORE,
    UNGRANTED,
    Lattice,
    ProbeApp,
    http_get,
)
from tests.support.cli import Outcome, wasmesh
from tests.support.processes import Served

# 130-odd cells on one worker (the file stays whole): started first, it runs beside the rest
pytestmark = pytest.mark.slow

PROBE = "test:parity/probe@0.1.0"
SECRET = "{secret}"  # stands for the host path of a file granted to no one


@dataclass(frozen=True)
class Failed:
    """The documented failure of a limit: `timeout`, `fuel`, `memory` or `trap`."""

    kind: str


SAME = object()  # a case's answer on the paths without an app is its answer with one


@dataclass(frozen=True)
class Case:
    question: str  # a function of the probe interface
    arg: str | None  # its one argument, if it takes one
    variant: str  # which variant of the app (see conftest.LIMIT_KEYS)
    expected: Any
    # the answer of `invoke`/`run` of the bare unit, which have no flag granting a store
    bare: Any = SAME

    def answer_on(self, path: str) -> Any:
        return self.bare if path in BARE and self.bare is not SAME else self.expected


CASES = {
    "granted-env": Case("env", GRANTED[0], "grants", GRANTED[1]),
    "inherited-env": Case("env", INHERITED[0], "grants", INHERITED[1]),
    "ungranted-env": Case("env", UNGRANTED[0], "grants", None),
    "ro-dir-read": Case("read", "/data/recipe.txt", "grants", RECIPE),
    "ro-dir-write": Case("write", "/data/recipe.txt", "grants", "denied: EROFS"),
    "ungranted-file": Case("read", SECRET, "grants", None),
    "dep-denied-env": Case("dep-env", GRANTED[0], "grants", None),
    "dep-denied-file": Case("dep-read", "/data/recipe.txt", "grants", None),
    "memory-limit": Case("grow", None, "grants", 2048),  # 128 MiB in 64 KiB pages
    "timeout-control": Case("env", GRANTED[0], "timeout", GRANTED[1]),
    "timeout": Case("spin", None, "timeout", Failed("timeout")),
    "fuel-control": Case("env", GRANTED[0], "fuel", GRANTED[1]),
    "fuel": Case("spin", None, "fuel", Failed("fuel")),
    "granted-config": Case("config", CONFIG[0], "grants", CONFIG[1]),
    "ungranted-config": Case("config", "other-key", "grants", None),
    "granted-store": Case("store", STORE, "grants", "opened", bare="access-denied"),
    "ungranted-store": Case("store", "cache", "grants", "access-denied"),
}


def kind_of(message: str) -> str:
    """The failure a command's error or an HTTP response's reason names."""
    if "fuel" in message:
        return "fuel"
    if "time limit" in message:
        return "timeout"
    if "out of memory" in message:
        return "memory"
    return "trap"


def cli_answer(r: Outcome) -> Any:
    if r.code == 1:
        return Failed(kind_of(r.err))
    assert r.code == 0, r.err
    return json.loads(r.out)


def http_answer(status: int, body: bytes) -> Any:
    if status == 200:
        return json.loads(body)
    assert status in (500, 503, 504), (status, body)
    return Failed(kind_of(body.decode()))


class Paths:
    """How each path asks one case; fixtures that serve a path start only when it is asked."""

    def __init__(self, app: ProbeApp, fixture: Callable[[str], Any]) -> None:
        self.app = app
        self.fixture = fixture

    def args(self, case: Case) -> list[str]:
        return [] if case.arg is None else [json.dumps(self.arg(case))]

    def arg(self, case: Case) -> str:
        return str(self.app.secret) if case.arg == SECRET else case.arg or ""

    def query(self, case: Case) -> str:
        return f"/{case.variant}/{case.question}?{quote(self.arg(case))}"

    def invoke(self, case: Case) -> Any:
        flags = (*self.app.grant_flags(), *LIMIT_FLAGS[case.variant])
        func = f"{PROBE}#{case.question}"
        r = wasmesh("invoke", self.app.unit, func, *self.args(case), "--json", *flags)
        return cli_answer(r)

    def run(self, case: Case) -> Any:
        flags = (*self.app.grant_flags(), *LIMIT_FLAGS[case.variant])
        r = wasmesh("run", self.app.unit, *flags, "--", case.question, self.arg(case))
        return cli_answer(r)

    def app_monolith(self, case: Case) -> Any:
        return self._app(case, "monolith")

    def app_per_component(self, case: Case) -> Any:
        return self._app(case, "per-component")

    def _app(self, case: Case, topology: str) -> Any:
        func = f"{PROBE}#{case.question}"
        app = self.app.dirs[case.variant]
        r = wasmesh("invoke", "--app", app, "--topology", topology, "--json", func,
                    *self.args(case))  # fmt: skip
        return cli_answer(r)

    def up_http(self, case: Case) -> Any:
        served: Served = self.fixture("up_servers")[case.variant]
        host, port = served.address
        return http_answer(*http_get(f"http://{host}:{port}{self.query(case)}"))

    def lattice_rpc(self, case: Case) -> Any:
        lattice: Lattice = self.fixture("probe_lattice")
        func = f"{PROBE}#{case.question}"
        r = wasmesh("invoke", "--nats", lattice.url, "--creds", lattice.creds,
                    "--app", self.app.name_of(case.variant), "--json", func,
                    *self.args(case))  # fmt: skip
        return cli_answer(r)

    def lattice_http_local(self, case: Case) -> Any:
        lattice: Lattice = self.fixture("probe_lattice")
        return http_answer(*http_get(lattice.http["a"] + self.query(case)))

    def lattice_http_forwarded(self, case: Case) -> Any:
        lattice: Lattice = self.fixture("probe_lattice")
        return http_answer(*http_get(lattice.http["b"] + self.query(case)))


BARE = ("invoke", "run")
PATHS = [
    "invoke", "run", "app_monolith", "app_per_component", "up_http", "lattice_rpc",
    "lattice_http_local", "lattice_http_forwarded",
]  # fmt: skip


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("path", PATHS, ids=[p.replace("_", "-") for p in PATHS])
def test_parity(path: str, case: str, probe_app: ProbeApp, request: pytest.FixtureRequest) -> None:
    asked = CASES[case]
    answer = getattr(Paths(probe_app, request.getfixturevalue), path)(asked)
    assert answer == asked.answer_on(path)
    if asked.question == "write":
        assert (probe_app.data / "recipe.txt").read_text() == RECIPE


def test_the_unit_file_holds_the_dependency(probe_app: ProbeApp) -> None:
    """`invoke` and `run` ask the composed unit: front and dependency in one component."""
    from wasmesh.engine import load_component

    imports = {item.name for item in load_component(probe_app.unit).world.imports}
    assert "test:parity/dep@0.1.0" not in imports
    assert not Path(probe_app.unit).name.startswith("parity-probe")
