"""How codec errors carry the path to the offending part of a value.

Checkers and codecs raise `Problem` deep inside a value; every enclosing record, list or
variant adds its own step on the way out, so the path costs nothing unless something is wrong.
The public entry points turn a `Problem` into a `WitValueError` with one readable sentence.
"""

from __future__ import annotations

from typing import Any

from wasmesh.errors import WitValueError


class Problem(Exception):
    """A value does not fit; `steps` lists the path from the innermost part outwards."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.steps: list[str] = []

    def error(self, where: str = "") -> WitValueError:
        """The user-facing error: `argument "p", field "x": <message>`."""
        steps = ([where] if where else []) + self.steps[::-1]
        prefix = ", ".join(steps)
        return WitValueError(f"{prefix}: {self.message}" if prefix else self.message)


def describe(value: Any) -> str:
    """A short rendering of a Python value for error messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}" if not isinstance(value, int | float) else text


def field_step(name: str) -> str:
    return f'field "{name}"'


def element_step(index: int) -> str:
    return f"element {index}"


def case_step(name: str) -> str:
    return f'case "{name}"'


def handle_refusal(kind: str, resource: str | None, form: str) -> str:
    """The message for a handle that a codec cannot carry."""
    what = f"{kind}<{resource}>" if resource else kind
    return (
        f"{what} is a resource handle type, which has no {form} form; "
        "pass handles between components or in Python code, not as data"
    )
