"""A server making a fresh instance per request sizes, per component, how much of a freed
pool slot stays resident: it measures what one instance touches, then times the default
against the smaller candidate on real requests and keeps the cheaper (see
`wasmesh.engine.footprint`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import BIN
from tests.support.processes import Served
from wasmesh.engine.footprint import KEEP_CLASSES, TRIAL_INSTANCES

PROBED = re.compile(r"(\S+): an instance wrote (\d+) and read (\d+) pages of (\d+) KiB "
                    r"accessible; trying (\d+) KiB kept resident against (\d+) KiB")  # fmt: skip
CHOSEN = re.compile(r"(\S+): freed instance slots keep (\d+) KiB of its memory resident \(CPU "
                    r"per instance, median of (\d+): ([\d.]+) ms keeping (\d+) KiB, ([\d.]+) ms "
                    r"keeping (\d+) KiB\)")  # fmt: skip


def _serve(component: Path, log: Path, *extra: str) -> Served:
    argv = [str(BIN / "wasmesh"), "serve", str(component), "--listen", "127.0.0.1:0",
            "--workers", "1", "--log-level", "debug", *extra]  # fmt: skip
    return Served(argv, log=log)


@pytest.mark.parametrize("name", ["echo_js", "echo_py"])
def test_each_component_gets_the_keep_resident_its_instances_cost_least_with(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    component: Path = request.getfixturevalue(name)
    log = tmp_path / "serve.log"
    served = _serve(component, log)
    try:
        # the probe, the trial (requests that come while the probe's result is read are
        # served from the default and not counted), then a few more from the choice
        for n in range(10 * TRIAL_INSTANCES):
            body = b"request %d" % n
            assert served.request("POST", "/echo", body)[::2] == (200, body)
            if "freed instance slots keep" in log.read_text():
                break
        assert n >= 2 * TRIAL_INSTANCES
        for _ in range(3):
            assert served.request("POST", "/echo", b"after")[::2] == (200, b"after")
    finally:
        assert served.stop() == 0
    text = log.read_text()
    probed = PROBED.search(text)
    assert probed is not None, text
    written, read, accessible = int(probed[2]), int(probed[3]), int(probed[4])
    assert written > 0 and read > 0  # a real request writes some pages and reads the image
    assert 4 << 10 < accessible < 256 << 10  # KiB: these guests' memories are megabytes
    tried, default = int(probed[5]) << 10, int(probed[6]) << 10
    assert tried in KEEP_CLASSES and tried < default
    chosen = CHOSEN.search(text)
    assert chosen is not None, text
    assert int(chosen[3]) == TRIAL_INSTANCES
    kept = int(chosen[2]) << 10
    assert kept in (default, tried)
    (big_ms, big), (small_ms, small) = ((float(chosen[4]), int(chosen[5]) << 10),
                                        (float(chosen[6]), int(chosen[7]) << 10))  # fmt: skip
    assert (big, small) == (default, tried)
    assert kept == (small if small_ms < big_ms else big)  # the cheaper one won
    assert text.count("freed instance slots keep") == 1  # decided once


def test_warm_instances_are_not_sized(echo_py: Path, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    served = _serve(echo_py, log, "--max-reuse", "10")
    try:
        for _ in range(5):
            assert served.request("POST", "/echo", b"x")[::2] == (200, b"x")
    finally:
        assert served.stop() == 0
    assert "kept resident" not in log.read_text()
    assert "freed instance slots keep" not in log.read_text()
