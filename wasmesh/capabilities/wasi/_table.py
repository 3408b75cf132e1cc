"""Host objects handed to guests as resource handles.

Each WASI resource type (`input-stream`, `incoming-request`...) is a `HostObject` subclass
naming its WIT resource. The handle tables themselves are the engine's `HostResource`s (one
per resource type per linker); `WasiContext` remembers which objects each instance received
so that they are released with it.
"""

from __future__ import annotations

from typing import ClassVar


class HostObject:
    """Base of every WASI host resource; subclasses set `resource` to the WIT name."""

    resource: ClassVar[str] = ""

    def on_drop(self) -> None:
        """Called when the guest drops its last handle (or its instance goes away)."""
