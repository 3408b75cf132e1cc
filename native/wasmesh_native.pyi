"""Type stubs for the wasmesh_native extension (native/src)."""

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

WASMTIME_VERSION: str

class Policy:
    """What a component may use; nothing unless granted."""

    env: list[tuple[str, str]]
    dirs: list[tuple[str, str, bool]]
    network: bool
    allow_hosts: list[str]
    memory: int | None
    deadline_ms: int | None
    inherit_stdio: bool
    def __init__(
        self,
        *,
        env: list[tuple[str, str]] | None = None,
        dirs: list[tuple[str, str, bool]] | None = None,
        network: bool = False,
        allow_hosts: list[str] | None = None,
        memory: int | None = None,
        deadline_ms: int | None = None,
        inherit_stdio: bool = False,
    ) -> None: ...

class Engine:
    def __init__(self, cache_dir: str | None = None, serving: bool = False) -> None: ...
    def load(self, path: str) -> Component: ...

class Component:
    from_cache: bool
    load_seconds: float
    def instantiate(
        self,
        policy: Policy | None = None,
        host: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,
    ) -> Instance: ...
    def serve(
        self,
        addr: str,
        *,
        policy: Policy | None = None,
        max_reuse: int = 1,
        concurrent: int = 16,
        threads: int = 2,
    ) -> Server: ...

class Instance:
    def call(self, name: str, *args: Any) -> Any: ...

class Server:
    port: int
    wasi_http: str
    def wait(self, timeout: float | None = None) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Server: ...
    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...
