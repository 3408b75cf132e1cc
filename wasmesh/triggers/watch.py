"""Rebuilding and reloading a running app when its sources change (`wasmesh up --watch`).

Watches the manifest and every component's source and WIT directories with `watchfiles` (the
Rust `notify` crate underneath: inotify on Linux, FSEvents on macOS; changes within 50 ms
debounced into one batch). On a change, the app is loaded again the way `wasmesh up` loads it:
the build cache rebuilds only the components whose inputs changed and the composition cache
recomposes only the units holding them. Each trigger that can (HTTP) then swaps the new units
in while requests in flight finish on the old ones. A failed rebuild is printed and the last
good version keeps serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wasmesh.errors import GuestError, WasmeshError

if TYPE_CHECKING:
    from wasmesh.runtime.app import App

# Directories whose changes never call for a rebuild: build outputs and tools' caches.
IGNORED_DIRS = (".wasmesh", "__pycache__", ".git", "node_modules", "target", ".mypy_cache")


def watched_paths(app: App) -> list[Path]:
    """The manifest and each component's source and WIT directories (sources only, no
    prebuilt or registry components)."""
    paths = {app.manifest.path.resolve()}
    for spec in app.manifest.components:
        if spec.source.is_prebuilt:
            continue
        paths.add(spec.source.path.resolve())
        if spec.source.wit is not None:
            paths.add(spec.source.wit.resolve())
    return sorted(p for p in paths if p.exists())


class AppWatcher:
    """Reloads `app` into `triggers` whenever its watched sources change (a background
    thread from `start` to `stop`)."""

    def __init__(
        self,
        app: App,
        load: Callable[[], App],
        triggers: Sequence[object],
        say: Callable[[str], None] = print,
    ) -> None:
        self.app = app
        self._load = load
        self._triggers = triggers
        self._say = say
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wasmesh-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        from watchfiles import DefaultFilter, watch

        only_sources = DefaultFilter(ignore_dirs=IGNORED_DIRS)
        for changes in watch(*watched_paths(self.app), watch_filter=only_sources,
                             stop_event=self._stop, yield_on_timeout=False):  # fmt: skip
            names = sorted({Path(path).name for _, path in changes})
            self._say(f"changed: {', '.join(names)}; rebuilding")
            self.reload()

    def reload(self) -> bool:
        """Load the app again and swap it in; False (the error printed, the running version
        kept) when it does not build."""
        started = time.monotonic()
        try:
            fresh = self._load()
        except (WasmeshError, GuestError) as error:
            self._say(f"error: {error}")
            self._say("still serving the last good version")
            return False
        for trigger in self._triggers:
            reload = getattr(trigger, "reload", None)
            if reload is None:
                self._say(f"{getattr(trigger, 'kind', 'a')} trigger: restart to apply the change")
                continue
            try:
                reload(fresh)
            except (WasmeshError, GuestError) as error:
                fresh.close()
                self._say(f"error: {error}")
                self._say("still serving the last good version")
                return False
        previous, self.app = self.app, fresh
        previous.close()
        self._say(f"reloaded in {time.monotonic() - started:.1f} s")
        return True
