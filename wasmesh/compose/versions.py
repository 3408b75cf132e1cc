"""Interface names and the semver rule deciding whether an export can serve an import."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wasmesh.engine.world import split_interface_name

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


@dataclass(frozen=True)
class InterfaceName:
    """`shop:tax/rates@0.1.2` split into `shop:tax/rates` and `0.1.2`."""

    unversioned: str
    version: str | None

    @classmethod
    def parse(cls, name: str) -> InterfaceName:
        package, interface, version = split_interface_name(name)
        return cls(f"{package}/{interface}" if interface else package, version)

    def __str__(self) -> str:
        return f"{self.unversioned}@{self.version}" if self.version else self.unversioned


def compatible(wanted: str | None, offered: str | None) -> bool:
    """Whether an export at version `offered` serves an import of version `wanted`.

    Same major for 1.x and later; same major and minor for 0.x, where every minor may break.
    Unversioned names only match unversioned names.
    """
    if wanted is None or offered is None:
        return wanted == offered
    a, b = _SEMVER.match(wanted), _SEMVER.match(offered)
    if a is None or b is None:
        return wanted == offered
    if a[1] != b[1]:
        return False
    return a[1] != "0" or a[2] == b[2]
