"""The one base class every language toolchain implements, and how tools are run.

A toolchain turns a source directory plus a WIT world into a component file. The base class
owns everything shared: the content-hash cache, the scratch directory, the spinner, running a
tool and turning its failure into a `BuildError` that names the component and quotes the tool.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from wasmesh.build import cache, progress
from wasmesh.build.messages import user_paths, without_traces
from wasmesh.errors import BuildError
from wasmesh.tools import search_path, which

# How much of a failing tool's output a BuildError quotes.
_TAIL_LINES = 20
_TAIL_CHARS = 2000


class MissingToolError(BuildError):
    """A build tool is not installed."""

    @classmethod
    def for_tool(cls, tool: str, purpose: str) -> MissingToolError:
        return cls(
            f"{tool} is not installed (needed for {purpose}); run ./dev test or "
            "scripts/setup.py to install the pinned toolchain"
        )


class ToolchainFailure(BuildError):
    """A tool ran and failed; carries the component name and the tool's own message."""

    def __init__(self, component: str, tool: str, output: str) -> None:
        self.component = component
        self.tool = tool
        self.output = output
        super().__init__(
            _explained(component, output)
            or f"component {component!r} failed to build ({tool}); fix the source and build "
            f"again:\n{output}"
        )


_MISSING_PACKAGE = re.compile(r"package '([^']+)' not found")


def _explained(component: str, output: str) -> str | None:
    """One sentence for the failures every toolchain reports the same way, else None."""
    if m := _MISSING_PACKAGE.search(output):
        return (
            f"component {component!r} uses the WIT package {m.group(1)}, which neither its "
            "wit/deps directory nor the toolchain supplies (the toolchain brings WASI 0.2.x); "
            "add the package's WIT under wit/deps, for example with `wkg wit fetch`"
        )
    return None


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: the component path, its input key and whether it was rebuilt."""

    path: Path
    key: str
    rebuilt: bool
    seconds: float


@dataclass
class BuildJob:
    """One build in progress, handed to `Toolchain.compile`."""

    name: str
    source_dir: Path
    wit_dir: Path | None
    world: str
    out: Path
    scratch: Path
    options: Mapping[str, object]
    quiet: bool

    def option_str(self, key: str, default: str) -> str:
        value = self.options.get(key, default)
        return str(value)

    def option_list(self, key: str) -> list[str]:
        value = self.options.get(key, [])
        if isinstance(value, str):
            return [value]
        if isinstance(value, Sequence):
            return [str(v) for v in value]
        raise BuildError(f"option {key!r} of component {self.name!r} must be a list of strings")

    def run(
        self,
        argv: Sequence[str | Path],
        what: str,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        expect: str | None = None,
    ) -> str:
        """Run one tool (with ``env`` added to the environment; its temporary files in the
        job's scratch directory); raise `ToolchainFailure` with its output's tail if it fails.
        A slow tool says how long it usually takes (``expect``, e.g. ``"~30 s"``)."""
        cmd = [str(a) for a in argv]
        environ = {**os.environ, "PATH": search_path(), "RUST_BACKTRACE": "0",
                   "TMPDIR": str(self.scratch), **(env or {})}  # fmt: skip
        with progress.step(self.name, what, quiet=self.quiet, expect=expect):
            code, out, err = run_tool(cmd, cwd, environ)
        if code == _STOPPED:
            raise BuildError(f"the build of component {self.name!r} was stopped")
        if code != 0:
            text = without_traces((err.strip() + "\n" + out.strip()).strip())
            text = user_paths(text, self.scratch, self.wit_dir)
            raise ToolchainFailure(self.name, Path(cmd[0]).name, _tail(text))
        return out


# Tools running now (each the leader of its own process group: componentize-js starts wizer,
# componentize-py a Python of its own) by the thread running them, and the threads whose
# builds are being stopped.
_running: dict[subprocess.Popen[str], int] = {}
_stopped_threads: set[int] = set()
_running_lock = threading.Lock()
_STOPPED = -(1 << 16)  # run_tool's status for a tool `stop_tools` killed or kept from starting


def run_tool(cmd: Sequence[str], cwd: Path | None,
             env: Mapping[str, str]) -> tuple[int, str, str]:  # fmt: skip
    """Run `cmd` in a process group of its own: (exit status, stdout, stderr). Interrupted
    (Ctrl-C, SIGTERM turned into `SystemExit`), its group is killed with it; when
    `stop_tools` stopped this thread's builds, the status is `_STOPPED`."""
    me = threading.get_ident()
    with _running_lock:
        if me in _stopped_threads:
            return _STOPPED, "", ""
        proc = subprocess.Popen(cmd, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                start_new_session=True)  # fmt: skip
        _running[proc] = me
    try:
        out, err = proc.communicate()
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        with _running_lock:
            del _running[proc]
            stopped = me in _stopped_threads
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    return (_STOPPED if stopped else proc.returncode), out, err


def stop_tools(thread: int) -> None:
    """Kill the tools `thread` runs (with everything they started) and start no more for it,
    failing its build: `wasmesh up --watch` stopping mid-rebuild does not wait for the
    toolchain. `release_tools(thread)` once the thread is done."""
    with _running_lock:
        _stopped_threads.add(thread)
        procs = [p for p, owner in _running.items() if owner == thread]
    for proc in procs:
        _kill_group(proc)


def release_tools(thread: int) -> None:
    """Let `thread` (an ident that may be reused once it ended) run tools again."""
    with _running_lock:
        _stopped_threads.discard(thread)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While a build runs in the main thread of a process that leaves SIGTERM to its default
    (`wasmesh build`, the build before `up` serves), SIGTERM unwinds like Ctrl-C: the tool's
    group is killed and the scratch directory removed on the way out."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):  # fmt: skip
        yield
        return
    signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    if proc.returncode is None:  # not reaped yet: its pid is still its group's id
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _tail(text: str) -> str:
    # Rust tools append a long stack backtrace after the message itself: keep the message.
    text = text.split("\nStack backtrace:", 1)[0].strip()
    lines = text.splitlines()
    if len(lines) > _TAIL_LINES:
        # The first lines usually hold the error itself, the last ones where it happened.
        lines = [*lines[:5], "...", *lines[-(_TAIL_LINES - 5) :]]
    return "\n".join(lines)[-_TAIL_CHARS:] or "(the tool printed nothing)"


def find_tool(name: str, purpose: str, *alternatives: str) -> str:
    """The path of executable ``name`` (or the first alternative found), beside the
    interpreter first, then on PATH."""
    for candidate in (name, *alternatives):
        found = which(candidate)
        if found is not None:
            return found
    raise MissingToolError.for_tool(name, purpose)


class Toolchain(ABC):
    """Builds components from one language's sources. Subclasses implement `compile`."""

    language: ClassVar[str]

    @abstractmethod
    def tool_versions(self) -> Mapping[str, str]:
        """Pinned versions of the tools used, found without running them (part of the key)."""

    @abstractmethod
    def compile(self, job: BuildJob) -> None:
        """Produce the component at ``job.out``; raise `BuildError` on failure."""

    def inputs(
        self, source_dir: Path, wit_dir: Path | None, options: Mapping[str, object]
    ) -> dict[str, Path]:
        """Input roots by label; the default is the source and WIT directories."""
        roots = {"src": source_dir}
        if wit_dir is not None and not wit_dir.resolve().is_relative_to(source_dir.resolve()):
            roots["wit"] = wit_dir
        return roots

    def settings(
        self, source_dir: Path, wit_dir: Path | None, options: Mapping[str, object]
    ) -> Mapping[str, object]:
        """Settings derived from the inputs that change the output (part of the key)."""
        return {}

    def build(
        self,
        source_dir: Path,
        out_path: Path,
        world: str,
        wit_dir: Path | None = None,
        *,
        name: str | None = None,
        options: Mapping[str, object] | None = None,
        quiet: bool = False,
        store: Path | None = None,
    ) -> BuildResult:
        """Build ``source_dir`` into the component ``out_path`` targeting WIT ``world``.

        A no-op (no tool runs, the output is not touched) when the inputs' key matches the
        one recorded beside ``out_path``; with a shared ``store`` (`cache.store_dir`), an
        output built there before with the same key is copied instead of built, and a new
        one is kept there.
        """
        started = time.perf_counter()
        name = name or source_dir.name
        opts = dict(options or {})
        if not source_dir.is_dir():
            raise BuildError(
                f"the source directory {source_dir} of component {name!r} does not exist; "
                "check its source path"
            )
        if wit_dir is not None and not wit_dir.exists():
            raise BuildError(
                f"the WIT directory {wit_dir} of component {name!r} does not exist; "
                "check its wit path"
            )
        recipe = {
            "language": self.language,
            "world": world,
            "options": opts,
            "tools": dict(self.tool_versions()),
            "settings": dict(self.settings(source_dir, wit_dir, opts)),
        }
        key = cache.compute_key(cache.InputSet(self.inputs(source_dir, wit_dir, opts)), recipe)
        if cache.is_fresh(out_path, key):
            if store is not None and not (store / f"{key}.wasm").exists():
                cache.keep(store, key, out_path)  # built before the store existed
            return BuildResult(out_path, key, False, time.perf_counter() - started)
        with _sigterm_unwinds(), cache.exclusive(out_path):
            # Another process may have built it while this one waited for the lock.
            if cache.is_fresh(out_path, key):
                return BuildResult(out_path, key, False, time.perf_counter() - started)
            if store is not None and cache.restore(store, key, out_path):
                return BuildResult(out_path, key, False, time.perf_counter() - started)
            with tempfile.TemporaryDirectory(prefix=f"wasmesh-build-{name}-") as tmp:
                scratch = Path(tmp)
                job = BuildJob(
                    name=name,
                    source_dir=source_dir.resolve(),
                    wit_dir=wit_dir.resolve() if wit_dir is not None else None,
                    world=world,
                    out=scratch / "out.wasm",
                    scratch=scratch,
                    options=opts,
                    quiet=quiet,
                )
                self.compile(job)
                if not job.out.is_file():
                    raise BuildError(
                        f"component {name!r}: the {self.language} toolchain wrote no output"
                    )
                staged = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
                shutil.copyfile(job.out, staged)
                os.replace(staged, out_path)
            cache.record(out_path, key)
            if store is not None:
                cache.keep(store, key, out_path)
        return BuildResult(out_path, key, True, time.perf_counter() - started)
