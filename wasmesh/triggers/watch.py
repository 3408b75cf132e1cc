"""`wasmesh up --watch`: rebuild an app's changed components and swap them in while it serves.

    watcher = Watcher(app, "examples/polyglot/wasmesh.toml", triggers)
    watcher.start()       # prints `watching ...` once file events are being received
    ...
    watcher.stop()        # then close `watcher.app`, the version being served

File events come from watchfiles (inotify through Rust's notify crate), for the manifest, the
variables file and every component's sources and WIT, filtered by the build cache's own rule
(`wasmesh.build.cache.is_input`): outputs, caches (`.wasmesh/`, `__pycache__`, `node_modules`)
and hidden files never trigger a rebuild, so a build cannot retrigger itself. A burst of
saves is one change: events are gathered until none came for `STEP_MS` (at most
`DEBOUNCE_MS`); events arriving during a rebuild make the next one.

Each change rebuilds the app (`wasmesh.runtime.reload`: only units whose composed component
or plan changed, and their callers, are made anew) and hands the new units to every trigger
that can `reload` (HTTP: requests in flight finish on the old version, the next ones get the
new). It prints `reloaded UNIT, ... in S s` when the new version serves, or the error (a
compiler's output, a wiring error) in one block, the last good version still serving.
Components and `[[triggers.http]]` routes added to (or removed from) the manifest are served
by the same reload (`now serving ROUTE -> COMPONENT`); a change to other trigger kinds is
said once to need a restart, and edits go on reloading the rest. After a failed rebuild the
sources the manifest names now are watched too, so fixing a just-added component reloads.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import watchfiles

from wasmesh.api import Component
from wasmesh.build.cache import is_input
from wasmesh.build.toolchain import release_tools, stop_tools
from wasmesh.compose.manifest import Manifest, TriggerDecl, load_manifest
from wasmesh.errors import WasmeshError
from wasmesh.runtime.app import App
from wasmesh.runtime.reload import changed_triggers, reload_app
from wasmesh.triggers.base import Trigger

DEBOUNCE_MS = 1600  # the longest a burst of events is gathered before rebuilding
STEP_MS = 200  # a burst ends after this long without an event
ARMED_POLL_MS = 500  # how soon after start the watcher says it is watching

log = logging.getLogger("wasmesh.watch")


class Watcher:
    """Watches the sources of a served `app` (loaded from the manifest at `path`, with
    `strategy` and `variables_file`) and reloads `triggers` when they change; lines for the
    developer go to `say` (default: stdout), each new version once served to `on_reload`."""

    def __init__(
        self,
        app: App,
        path: str | Path,
        triggers: Sequence[Trigger],
        *,
        strategy: str | None = None,
        variables_file: Path | None = None,
        say: Callable[[str], None] | None = None,
        on_reload: Callable[[App], None] | None = None,
    ) -> None:
        self.app = app
        self.path = Path(path)
        self.triggers = list(triggers)
        self.strategy = strategy
        self.variables_file = variables_file
        self.say = say or _print
        self.on_reload = on_reload  # told each new version once it serves
        self.retired: list[Component] = []
        self.sources = _sources(app, variables_file)
        self._stop = threading.Event()
        self._busy = threading.Event()  # a rebuild is under way
        self._thread: threading.Thread | None = None

    @property
    def roots(self) -> list[Path]:
        """The directories watched (recursively), none inside another."""
        dirs = {p if p.is_dir() else p.parent for p in self.sources}
        kept: list[Path] = []
        for d in sorted(dirs, key=lambda p: len(p.parts)):
            if not any(d.is_relative_to(k) for k in kept):
                kept.append(d)
        return kept

    def relevant(self, change: watchfiles.Change, path: str) -> bool:
        """Whether an event on `path` may change what the app builds to."""
        p = Path(path)
        cache = self.app.manifest.root / ".wasmesh"
        if p.is_relative_to(cache) or p.is_dir():  # a directory's files have events of their own
            return False
        for source in self.sources:
            if p == source:
                return True
            if source.is_dir() and p.is_relative_to(source) and is_input(p, source):
                return True
        return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wasmesh-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (a rebuild under way is stopped: its tools are killed) and close the
        retired units."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.ident is not None:
            if self._busy.is_set():
                self.say("stopping the rebuild under way")
            stop_tools(thread.ident)  # none left running, none started from now on
        if thread is not None:
            thread.join()
            if thread.ident is not None:
                release_tools(thread.ident)
        for unit in self.retired:
            unit.close()
        self.retired.clear()

    def _run(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # a watched directory went away, the kernel's watch limit...
            log.exception("watching failed")
            self.say(f"watching stopped ({exc}); the app keeps serving, restart to watch again")

    def _watch(self) -> None:
        roots = self.roots
        armed = False
        for changes in watchfiles.watch(
            *roots,
            watch_filter=self.relevant,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=self._stop,
            rust_timeout=ARMED_POLL_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if not armed:  # the notify watches are in place: edits from now on are seen
                armed = True
                where = ", ".join(str(r) for r in roots)
                self.say(f"watching {where} for changes (Ctrl-C stops)")
            lasting = _lasting(changes)
            if lasting and not self._stop.is_set():
                self._busy.set()
                try:
                    self.reload(lasting)
                finally:
                    self._busy.clear()

    def reload(self, changed: Sequence[Path] = ()) -> bool:
        """Rebuild and swap in what changed; False (the error said, nothing swapped) when the
        new version cannot be built or served."""
        started = time.perf_counter()
        names = ", ".join(p.name for p in changed[:4]) + (", ..." if len(changed) > 4 else "")
        if names:
            self.say(f"changed: {names}; rebuilding")
        try:
            fresh = reload_app(self.app, self.path, strategy=self.strategy,
                               variables_file=self.variables_file)  # fmt: skip
        except WasmeshError as exc:
            if self._stop.is_set():  # stopped mid-rebuild: nothing to report
                return False
            self._follow_manifest()
            self.say(f"rebuild failed; still serving the last good version:\n{exc}")
            return False
        except Exception as exc:  # a bug, not the user's: keep serving all the same
            log.exception("rebuilding failed")
            self.say(f"rebuild failed ({type(exc).__name__}: {exc}); still serving the last "
                     "good version")  # fmt: skip
            return False
        kinds = changed_triggers(self.app.manifest.triggers, fresh.app.manifest.triggers)
        if not fresh.units and not kinds:
            self.say(f"no unit changed ({time.perf_counter() - started:.2f} s)")
            return True
        running = {t.kind for t in self.triggers}
        try:
            for trigger in self.triggers:
                reload = getattr(trigger, "reload", None)
                if reload is not None:
                    reload(fresh.app, fresh.units)
                elif trigger.kind in kinds or self._uses(trigger.kind, fresh.units):
                    self.say(f"[[triggers.{trigger.kind}]] keep the version `up` started with; "
                             "restart `wasmesh up` to update them")  # fmt: skip
        except Exception as exc:
            for name in fresh.units:
                fresh.app.units[name].close()
            self.say(f"the new version cannot be served; still serving the last good version:"
                     f"\n{exc}")  # fmt: skip
            return False
        if "http" in kinds and "http" in running:
            self._say_routes(self.app.manifest.triggers, fresh.app.manifest.triggers)
        for kind in kinds:
            if kind not in running:  # said once: the next reload compares with this manifest
                self.say(f"[[triggers.{kind}]] were added; restart `wasmesh up` to serve them")
        self.app = fresh.app
        self.sources = _sources(fresh.app, self.variables_file)  # inside the roots watched
        self.retired.extend(fresh.retired)
        if self.on_reload is not None:
            self.on_reload(fresh.app)
        took = time.perf_counter() - started
        self.say(f"reloaded {', '.join(fresh.units) or 'the routes'} in {took:.2f} s")
        return True

    def _say_routes(self, old: Sequence[TriggerDecl], new: Sequence[TriggerDecl]) -> None:
        before = {(d.address, d.component) for d in old if d.kind == "http"}
        after = {(d.address, d.component) for d in new if d.kind == "http"}
        for route, component in sorted(after - before):
            self.say(f"now serving {route} -> {component}")
        for route, component in sorted(before - after):
            self.say(f"no longer serving {route} -> {component}")

    def _follow_manifest(self) -> None:
        """Watch what the manifest names now, even when it does not build yet: a component
        just added is fixed by editing its sources, which must then trigger a rebuild."""
        try:
            manifest = load_manifest(self.path)
        except WasmeshError:
            return
        found = _source_paths(manifest, self.variables_file)
        self.sources = list(dict.fromkeys([*self.sources, *found]))

    def _uses(self, kind: str, units: Sequence[str]) -> bool:
        return any(
            d.kind == kind and self.app.unit_of(d.component).name in units
            for d in self.app.manifest.triggers
        )


def _sources(app: App, variables_file: Path | None) -> list[Path]:
    """What the app is built from: the manifest, the variables file, each component's file,
    or source directory and WIT directory (components pulled from a registry are not)."""
    return _source_paths(app.manifest, variables_file)


def _source_paths(manifest: Manifest, variables_file: Path | None) -> list[Path]:
    found = [manifest.path.resolve()]
    if variables_file is not None:
        found.append(variables_file.resolve())
    for spec in manifest.components:
        if spec.source.oci:
            continue
        found.append(spec.source.path.resolve())
        if spec.source.wit is not None:
            found.append(spec.source.wit.resolve())
    return [p for p in found if p.exists()]


def _lasting(changes: set[tuple[watchfiles.Change, str]]) -> list[Path]:
    """The changed files, less those made and removed again (an editor's temporary files)."""
    kinds: dict[str, set[watchfiles.Change]] = {}
    for change, path in changes:
        kinds.setdefault(path, set()).add(change)
    passing = {watchfiles.Change.added, watchfiles.Change.deleted}
    return sorted(Path(p) for p, k in kinds.items() if not passing <= k or Path(p).exists())


def _print(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
