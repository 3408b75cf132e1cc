"""Where a wasmesh server's CPU goes under load: one worker serving in a child process with
cProfile on every thread, timing CPU seconds (`time.thread_time`; each new thread starts its
own profiler through `threading.setprofile`), merged and printed when the child stops.

    from bench._profile import profile_server
    print(profile_server(wasm, reuse=1000, seconds=5, path="/hello", load=run_wrk))
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TOP = 14  # functions shown, by their own time

_CHILD = """
import atexit, cProfile, io, pstats, sys, threading, time
profiles = []
lock = threading.Lock()

def start(*_):
    p = cProfile.Profile(time.thread_time)  # CPU seconds: a thread waiting counts nothing
    with lock:
        profiles.append(p)
    p.enable()  # from here the thread reports to its own profiler

def dump():
    with lock:
        stats = None
        for p in profiles:
            p.disable()
            try:
                stats = pstats.Stats(p) if stats is None else stats.add(p)
            except TypeError:  # a thread's profiler that saw nothing
                pass
    if stats is None:
        return
    total = stats.total_tt or 1e-9
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:{top}]
    print(f"total profiled CPU {{total:.2f}} s over {{len(profiles)}} threads; own CPU time:")
    for (file, line, name), (cc, nc, tt, ct, _) in rows:
        where = file.rsplit("site-packages/", 1)[-1].rsplit("/work/", 1)[-1]
        print(f"  {{tt / total * 100:5.1f}}%  {{nc:>8}} calls  {{name}} ({{where}}:{{line}})")
    sys.stdout.flush()

atexit.register(dump)
threading.setprofile(start)
start()
from wasmesh.triggers.http import serve
serve({wasm!r}, '127.0.0.1:{port}', max_reuse={reuse}, workers=1)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def profile_server(
    wasm: Path,
    reuse: int,
    seconds: int,
    path: str,
    load: Callable[[int, int, str], object],
    ready: Callable[[int, subprocess.Popen[bytes], str], None],
) -> str:
    """The profile (text) of a one-worker wasmesh server for `wasm` under `load(port,
    seconds, path)` (after a 2-second warm-up); `ready(port, proc, path)` waits for it."""
    port = _free_port()
    code = _CHILD.format(top=TOP, wasm=str(wasm), port=port, reuse=reuse)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        ready(port, proc, path)
        load(port, seconds, path)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    text = out.decode(errors="replace")
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("Serving HTTP on"))  # fmt: skip
