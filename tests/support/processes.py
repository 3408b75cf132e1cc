"""Child processes of the tests: `wasmesh` commands in the background, stopped afterwards."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
from pathlib import Path

from tests.support.cli import BIN

ROOT = Path(__file__).resolve().parents[2]


def spawn(
    *args: str, cwd: Path, log: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """A background `wasmesh` process in its own group, with `env` added to this one's;
    output to `log`, else a pipe."""
    env = {**os.environ, **(env or {}), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = log.open("w") if log else subprocess.PIPE
    try:
        return subprocess.Popen(
            [str(BIN / "wasmesh"), *args], cwd=cwd, env=env, text=True,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


class Served:
    """A child process serving HTTP; its address is read from the line it prints."""

    def __init__(self, argv: list[str], log: Path | None = None, cwd: Path = ROOT) -> None:
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        # A long-lived child logs to a file: an unread pipe would fill and stall it.
        err = log.open("w") if log else subprocess.PIPE
        try:
            # its own process group: what it forks (workers) is stopped with it
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True,
                                         env=env, cwd=cwd, start_new_session=True)  # fmt: skip
        finally:
            if log:
                err.close()  # type: ignore[union-attr]
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            found = re.search(r"Serving HTTP on http://([\d.]+):(\d+)/", line)
            if found:
                self.address = (found[1], int(found[2]))
                return
        self.proc.wait(10)
        said = self.proc.stderr.read() if self.proc.stderr else log.read_text() if log else ""
        raise AssertionError(f"server exited ({self.proc.returncode}) before serving:\n{said}")

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection(*self.address, timeout=60)
        try:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            return resp.status, resp.getheader("content-type") or "", resp.read()
        finally:
            conn.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # a worker left behind by its parent
            os.killpg(self.proc.pid, signal.SIGKILL)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.proc.returncode
