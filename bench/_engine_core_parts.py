"""bench/engine_core.py's parts that are not measurements: the server processes it starts, its
command line, and the build figures it prints (your last `./dev native` beside the reference
build in native/reference-build.json).

bench/engine_core.py imports it as `bench._engine_core_parts` with the repository root on
`sys.path`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_BUILD = ROOT / "native" / "reference-build.json"
LOCAL_BUILD = ROOT / "native" / "target" / "build-info.json"


class Server:
    """A server process in its own process group, its stderr kept for the failure it explains.

    Leaving the block stops the group (SIGTERM, SIGKILL after 15 s); a group already gone is
    not an error, so cleanup never replaces the cause.
    """

    def __init__(self, cmd: list[str]) -> None:
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 (closed on leaving)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._err,
                                     start_new_session=True)  # fmt: skip

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._err.close()

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, None)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def tail(self, lines: int = 3) -> str:
        """The last lines of the server's stderr, joined with " | " ("" when it wrote none)."""
        self._err.seek(0)
        text = self._err.read().decode(errors="replace").strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:])

    def exited(self) -> str:
        tail = self.tail()
        return f"server exited with {self.proc.returncode}" + (f": {tail}" if tail else "")


def build_line(info: dict[str, Any]) -> str:
    """One build-info record as a line: wall time, CPU (when recorded), load, sizes."""
    if "user_seconds" in info:
        user, system = info["user_seconds"] / 60, info["system_seconds"] / 60
        cpu = f", {user:.1f} min user + {system:.1f} min system CPU"
    elif "cpu_seconds" in info:
        cpu = f", {info['cpu_seconds'] / 60:.1f} min CPU (user + system)"
    else:
        cpu = ", CPU time not recorded"
    kind = "clean" if info.get("clean") else "incremental"
    rust = f", rustc {info['rustc']}" if "rustc" in info else ""
    return (
        f"{kind} release build {info['build_seconds'] / 60:.1f} min wall{cpu} (cargo -j2{rust}, "
        f"load average {info['load_average']:.1f} at the end); libwasmesh_native.so "
        f"{info['extension_bytes'] / 2**20:.1f} MiB, wheel {info['wheel_bytes'] / 2**20:.1f} MiB"
    )


def build_table() -> None:
    ref = json.loads(REFERENCE_BUILD.read_text())
    print("\n## 5. the extension's release build\n")
    print(f"reference machine ({ref['machine']}, {ref['finished']}): {build_line(ref)}")
    if LOCAL_BUILD.exists():
        print(f"your last ./dev native: {build_line(json.loads(LOCAL_BUILD.read_text()))}")
    else:
        print("your last ./dev native: none recorded in this checkout "
              "(./dev native --clean times a clean build)")  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one sentence and exit 2, no usage dump
        self.exit(2, f"engine_core.py: {message} (see --help)\n")


def comma_list(valid: tuple[str, ...], what: str) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [item for item in text.split(",") if item]
        bad = [item for item in items if item not in valid]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(bad) or repr(text)}; choose from {', '.join(valid)}"
            )
        return items

    return parse


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"seconds per wrk run must be a number ≥ 1, not {text!r}")
    return int(text)


def parse_args(
    argv: list[str], sections: tuple[str, ...], guests: tuple[str, ...]
) -> argparse.Namespace:
    """bench/engine_core.py's command line; bad input is one sentence and exit 2."""
    parser = _Parser(
        prog="bench/engine_core.py",
        description="The Rust engine core prototype against wasmtime serve, wasmesh and "
        "wasmtime-py, in one run; prints ratios. Exits 1 if any server, probe or section failed.",
    )
    parser.add_argument("seconds", nargs="?", type=positive, default=5,
                        help="seconds per wrk run (default 5)")  # fmt: skip
    parser.add_argument("--only", type=comma_list(sections, "section"), default=list(sections),
                        metavar="SECTION,...", help=f"sections: {', '.join(sections)}")  # fmt: skip
    parser.add_argument("--guests", type=comma_list(guests, "guest"), default=list(guests),
                        metavar="GUEST,...", help=f"HTTP guests: {', '.join(guests)}")  # fmt: skip
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)
