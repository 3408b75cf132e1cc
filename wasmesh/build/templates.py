"""Scaffolding a new component (`wasmesh new NAME --lang LANG`): filled in later."""

from __future__ import annotations

LANGUAGES = ("python", "js", "c")


def scaffold() -> None:
    raise NotImplementedError
