"""`wasmesh up --watch` over real HTTP: an edited component is rebuilt and swapped in while the
app serves, only its unit is made anew, a request in flight across the swap finishes on the old
version, a failed build keeps the last good version serving and shows the compiler's error,
and neither build outputs nor caches trigger a rebuild.

Every wait is for a line `up` prints ("watching", "reloaded ...", "rebuild failed"); the
limits on those waits only bound a broken run.
"""

from __future__ import annotations

import http.client
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT, spawn, stop

GUEST = ROOT / "tests" / "guests" / "watch-http-c"
MANIFEST = """[app]
name = "watched"

[components.web]
source = "web"
language = "c"
world = "web"
build = { bindings = "wit-bindgen" }

[components.other]
source = "other"
language = "c"
world = "web"
build = { bindings = "wit-bindgen" }

[[triggers.http]]
route = "/web/..."
component = "web"

[[triggers.http]]
route = "/other/..."
component = "other"
"""
THIRD = """
[components.third]
source = "third"
language = "c"
world = "web"
build = { bindings = "wit-bindgen" }

[[triggers.http]]
route = "/third/..."
component = "third"
"""
LIMIT = 900.0  # seconds a broken run may take to fail (C builds on a loaded machine)


class Watched:
    """`wasmesh up --watch` on `app`, its output read line by line as it comes."""

    def __init__(self, app: Path) -> None:
        self.proc: subprocess.Popen[str] = spawn(
            "up", str(app), "--watch", "--topology", "per-component", "--listen", "127.0.0.1:0",
            "--request-timeout", "900", cwd=app,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        found = self.wait_for(r"Serving HTTP on http://([\d.]+):(\d+)/")
        self.address = (found[1], int(found[2]))
        self.wait_for(r"^watching ")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first line from now on matching `pattern`."""
        deadline = time.monotonic() + LIMIT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                said = "\n".join(self.seen)
                raise AssertionError(f"no line matched {pattern!r}:\n{said}") from None
            if line is None:
                raise AssertionError(f"`up` exited before {pattern!r}:\n" + "\n".join(self.seen))
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def get(self, path: str) -> str:
        with socket.create_connection(self.address, timeout=60) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n".encode())
            return _answer(sock)


def _answer(sock: socket.socket) -> str:
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    assert response.status == 200, body
    return body.decode()


def set_version(app: Path, component: str, version: str, broken: bool = False) -> None:
    pristine = (GUEST / "component.c").read_text()
    text = re.sub(r'#define VERSION "[^"]*"', f'#define VERSION "{version}"', pristine)
    if broken:
        text += "\nint broken(void) { return undeclared_name; }\n"
    (app / component / "component.c").write_text(text)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("watch") / "app"
    root.mkdir()
    (root / "wasmesh.toml").write_text(MANIFEST)
    for name, version in (("web", "v1"), ("other", "o1")):
        shutil.copytree(GUEST, root / name)
        set_version(root, name, version)
    return root


@pytest.fixture(scope="module")
def watched(app: Path) -> Iterator[Watched]:
    served = Watched(app)
    yield served
    stop(served.proc)


@pytest.mark.slow
def test_an_edit_is_served_after_reload_and_a_request_in_flight_finishes_on_the_old_version(
    app: Path, watched: Watched
) -> None:
    assert watched.get("/web/a") == "v1 /web/a 0\n"
    # A request whose body is still arriving: past the first MiB the server buffers, so its
    # instance (of v1) is running, reading, when the swap happens.
    slow = socket.create_connection(watched.address, timeout=120)
    head = "POST /web/slow HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
    first = b"x" * ((1 << 20) + 1)
    slow.sendall(head.encode() + f"{len(first):x}\r\n".encode() + first + b"\r\n")
    done = threading.Event()
    sent = [len(first)]

    def trickle() -> None:  # keeps the client from looking silent while the test waits
        while not done.wait(1.0):
            slow.sendall(b"1\r\ny\r\n")
            sent[0] += 1

    keepalive = threading.Thread(target=trickle, daemon=True)
    keepalive.start()
    try:
        watched.wait_for(r"reading /web/slow$")  # v1 is running it, reading its body
        set_version(app, "web", "v2")
        line = watched.wait_for(r"^reloaded ")
        assert re.fullmatch(r"reloaded web in [\d.]+ s", line.string)
        assert watched.get("/web/b") == "v2 /web/b 0\n"
        assert watched.get("/other/c") == "o1 /other/c 0\n"  # its unit was left alone
    finally:
        done.set()
        keepalive.join()
    slow.sendall(b"0\r\n\r\n")
    assert _answer(slow) == f"v1 /web/slow {sent[0]}\n"
    slow.close()


@pytest.mark.slow
def test_a_failed_build_shows_the_compiler_error_and_keeps_the_last_good_version(
    app: Path, watched: Watched
) -> None:
    serving = watched.get("/web/d")
    set_version(app, "web", "v3", broken=True)
    watched.wait_for(r"^rebuild failed; still serving the last good version:$")
    watched.wait_for(r"undeclared_name")  # clang's own message, in the same block
    assert watched.get("/web/d") == serving
    set_version(app, "web", "v3")
    watched.wait_for(r"^reloaded web in ")
    assert watched.get("/web/e") == "v3 /web/e 0\n"


@pytest.mark.slow
def test_a_burst_of_saves_ends_on_the_last_and_outputs_never_trigger_a_rebuild(
    app: Path, watched: Watched
) -> None:
    # outputs, caches and hidden files beside the sources: none of them is an input
    (app / "web" / "web.wasm").write_bytes(b"\0asm")
    (app / "web" / "__pycache__").mkdir(exist_ok=True)
    (app / "web" / "__pycache__" / "x.pyc").write_bytes(b"")
    (app / ".wasmesh" / "scratch").write_text("x")
    (app / "web" / ".component.c.swp").write_text("x")
    for i in range(5):
        set_version(app, "web", f"v4-{i}")
    set_version(app, "web", "v4")
    changed = watched.wait_for(r"^changed: (.*); rebuilding$")
    assert changed[1] == "component.c"  # none of the files above
    # usually one rebuild; a machine pausing this test between saves may make it several
    while watched.get("/web/f") != "v4 /web/f 0\n":
        watched.wait_for(r"^reloaded web in ")
    # the rebuilds wrote outputs and caches: had any of them been taken for a change, it would
    # be named in the next batch, this edit's or one before it
    set_version(app, "other", "o2")
    while True:
        changed = watched.wait_for(r"^changed: (.*); rebuilding$")
        assert changed[1] == "component.c"
        if watched.wait_for(r"^(reloaded|no unit changed) ")[1] == "reloaded":
            break
    assert watched.seen[-1].startswith("reloaded other in ")
    assert watched.get("/other/g") == "o2 /other/g 0\n"


@pytest.mark.slow
def test_a_component_and_route_added_to_the_manifest_are_served_without_a_restart(
    app: Path, watched: Watched
) -> None:
    shutil.copytree(GUEST, app / "third")  # as `wasmesh new` does: sources, then the manifest
    set_version(app, "third", "t1")
    manifest = app / "wasmesh.toml"
    manifest.write_text(manifest.read_text() + THIRD)
    watched.wait_for(r"^now serving /third/\.\.\. -> third$")
    watched.wait_for(r"^reloaded third in ")
    assert watched.get("/third/h") == "t1 /third/h 0\n"
    # edits go on reloading: the running version now is the one with the new route
    set_version(app, "third", "t2")
    watched.wait_for(r"^reloaded third in ")
    assert watched.get("/third/i") == "t2 /third/i 0\n"
    set_version(app, "web", "v5")
    watched.wait_for(r"^reloaded web in ")
    assert watched.get("/web/j") == "v5 /web/j 0\n"
    assert not any("restart" in line for line in watched.seen)
