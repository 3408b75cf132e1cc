"""How an interface's implementation is described: its resource classes and functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wasmesh.capabilities.wasi._table import HostObject


@dataclass(frozen=True)
class Interface:
    """The resources an interface defines and its functions by WIT name."""

    resources: tuple[type[HostObject], ...] = ()
    funcs: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


def methods(cls: type[HostObject], *names: str) -> dict[str, Callable[..., Any]]:
    """`[method]resource.name` entries for methods of `cls` (kebab names, snake attributes)."""
    return {f"[method]{cls.resource}.{n}": getattr(cls, n.replace("-", "_")) for n in names}
