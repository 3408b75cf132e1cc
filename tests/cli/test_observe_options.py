"""The observability options `serve`, `up` and `host` share, in any case."""

from __future__ import annotations

import logging
import socket

from tests.support.cli import wasmesh
from wasmesh.observe.requestlog import check_options


def test_log_format_and_level_in_any_case() -> None:
    assert check_options("JSON", "INFO") == ("json", logging.INFO)
    assert check_options("Text", "warning") == ("text", logging.WARNING)


def test_a_hosts_admin_off_in_any_case() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    got = wasmesh("host", "--nats", f"nats://127.0.0.1:{port}", "--admin", "OFF",
                  "--log-format", "JSON", "--connect-timeout", "1", "--allow-unsigned")  # fmt: skip
    assert got.code == 2, got.err
    # past the options: it tried NATS (and found none)
    assert f"error: cannot reach NATS at nats://127.0.0.1:{port}" in got.err, got.err
    assert "--admin" not in got.err and "Traceback" not in got.err
