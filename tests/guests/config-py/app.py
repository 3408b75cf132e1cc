"""Answers what wasi:config/store gives this component: one key, or all of them."""

from __future__ import annotations

from wit_world import exports
from wit_world.imports import store


class Probe(exports.Probe):
    def get(self, key: str) -> str | None:
        return store.get(key)

    def all(self) -> list[tuple[str, str]]:
        return store.get_all()
