"""Host objects handed to guests as resource handles, and the per-instance table of them.

Each WASI resource type (`input-stream`, `incoming-request`...) is a `HostObject` subclass
with a process-wide host type id. A guest sees only a handle that wasmtime maps to a *rep*;
the rep indexes the `ResourceTable` of the instance's `WasiContext`, so one instance can never
reach another's objects.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import wasmtime.component as wc

# Ids start high so they do not collide with host resource ids other code picks.
_TYPE_IDS = itertools.count(0x57A5_1001)


class HostObject:
    """Base of every WASI host resource; subclasses set `resource` to the WIT name."""

    resource: ClassVar[str] = ""
    type_id: ClassVar[int] = 0
    _resource_type: ClassVar[wc.ResourceType | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_id = next(_TYPE_IDS)
        cls._resource_type = None

    @classmethod
    def resource_type(cls) -> wc.ResourceType:
        """The wasmtime resource type of this class (created on first use)."""
        if cls._resource_type is None:
            cls._resource_type = wc.ResourceType.host(cls.type_id)
        return cls._resource_type

    def on_drop(self) -> None:
        """Called when the guest drops its last handle; children override to release."""


class ResourceTable:
    """rep -> object for one instance. Reps are never reused within an instance."""

    def __init__(self) -> None:
        self._objects: dict[int, HostObject] = {}
        self._next = itertools.count(1)

    def __len__(self) -> int:
        return len(self._objects)

    def push(self, obj: HostObject) -> int:
        rep = next(self._next)
        self._objects[rep] = obj
        return rep

    def get(self, rep: int) -> HostObject:
        try:
            return self._objects[rep]
        except KeyError:
            raise LookupError(f"unknown resource handle {rep}") from None

    def take(self, rep: int) -> HostObject | None:
        return self._objects.pop(rep, None)

    def clear(self) -> list[HostObject]:
        objects = list(self._objects.values())
        self._objects.clear()
        return objects
