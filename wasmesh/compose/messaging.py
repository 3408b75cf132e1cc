"""The manifest's messaging keys: a component's subject grant and `[[triggers.messaging]]`.

```toml
[components.orders]
messaging = ["orders.>", "audit.*"]   # subjects it may publish and send requests to

[[triggers.messaging]]
subject = "orders.*"        # NATS pattern delivered to the component's handler
component = "orders"
queue-group = "orders"      # optional: one member of the group gets each message
durable = true              # optional: failed messages are redelivered...
max-deliver = 5             # ...at most this many deliveries in all (default 5)
```
"""

from __future__ import annotations

from typing import Any

from wasmesh.capabilities.messaging.subjects import SubjectError, check_subject
from wasmesh.compose._positions import Path_
from wasmesh.compose._reader import Reader


def read_grant(reader: Reader, where: Path_, value: Any) -> tuple[str, ...]:
    """`messaging = [...]` of a component table: NATS subject patterns."""
    patterns = reader.strings(value, where)
    for pattern in patterns:
        try:
            check_subject(pattern, pattern=True)
        except SubjectError as exc:
            raise reader.fail(where, f"messaging grant: {exc}; fix the pattern") from None
    return patterns


def check_trigger(reader: Reader, where: Path_, entry: dict[str, Any]) -> None:
    """A `[[triggers.messaging]]` table's `subject`, `queue-group`, `durable`, `max-deliver`."""
    try:
        check_subject(entry["subject"], pattern=True)
    except SubjectError as exc:
        raise reader.fail((*where, "subject"), f"{exc}; fix the subject") from None
    if "queue-group" in entry:
        group = reader.typed(entry["queue-group"], (*where, "queue-group"), str, "a string")
        if not group or any(c.isspace() or c in ".*>" for c in group):
            raise reader.fail(
                (*where, "queue-group"),
                f"queue group `{group}` must be one token (no dots, wildcards or spaces)",
            )
    if "durable" in entry:
        reader.typed(entry["durable"], (*where, "durable"), bool, "true or false")
    if "max-deliver" in entry:
        count = reader.typed(entry["max-deliver"], (*where, "max-deliver"), int, "an integer")
        if isinstance(count, bool) or count < 1:
            raise reader.fail((*where, "max-deliver"), "`max-deliver` must be at least 1")
        if not entry.get("durable", False):
            raise reader.fail(
                (*where, "max-deliver"), "`max-deliver` applies to `durable = true`; add it"
            )


_REPEATED = {
    "messaging": ("subject", "message would be handled"),
    "cron": ("schedule", "run would happen"),
}


def check_repeated(reader: Reader, where: Path_, decl: Any, seen: list[Any]) -> None:
    """Refuse a trigger table (`decl`, a `TriggerDecl` at `where`) identical to one in `seen`:
    each message or scheduled time would be handled twice. HTTP routes have their own check
    (`wasmesh.triggers.http.routing`: a route declared twice)."""
    if decl.kind == "http":
        return
    for other in seen:
        if (other.kind, other.address, other.component, dict(other.options)) == (
            decl.kind, decl.address, decl.component, dict(decl.options)
        ):  # fmt: skip
            key, event = _REPEATED.get(decl.kind, ("address", "event would be handled"))
            raise reader.fail(
                where,
                f"[[triggers.{decl.kind}]] repeats the table at line {other.line} (same {key}, "
                f"component and options), so each {event} twice; remove one",
            )
