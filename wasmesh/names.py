"""Interface names (`wasi:cli/environment@0.2.6`) and the one rule for matching them.

An import is served by an export (another component's, a unit's, a Python host's or a
capability's) of the same package and interface at a semver-compatible version (`compatible`).
Where a person writes a name (`invoke` targets, `hosts=` keys, `[wiring]` rules) it may omit
the version (`demo:log/sink`: any version) and even the package (`sink`); `InterfaceName.matches`
is that rule, used by wiring, export lookup, Python hosts and the lattice alike.

A leaf module: it imports nothing of wasmesh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^(?P<pkg>[^/@]+)(?:/(?P<iface>[^@]+))?(?:@(?P<ver>.+))?$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


def split_interface_name(name: str) -> tuple[str, str | None, str | None]:
    """`wasi:cli/environment@0.2.6` → (`wasi:cli`, `environment`, `0.2.6`)."""
    m = _NAME.match(name)
    if m is None:
        return name, None, None
    return m["pkg"], m["iface"], m["ver"]


def compatible(wanted: str | None, offered: str | None) -> bool:
    """Whether an export at version `offered` serves an import of version `wanted`.

    Same major for 1.x and later; same major and minor for 0.x, where every minor may break
    (Cargo's and the component model's reading of semver). Unversioned names only match
    unversioned names.
    """
    if wanted is None or offered is None:
        return wanted == offered
    a, b = _SEMVER.match(wanted), _SEMVER.match(offered)
    if a is None or b is None:
        return wanted == offered
    if a[1] != b[1]:
        return False
    return a[1] != "0" or a[2] == b[2]


@dataclass(frozen=True)
class InterfaceName:
    """An interface name split into package (`wasi:cli`, None when written bare), interface
    (`environment`) and version (`0.2.6` or None). A world-level function name parses as a
    bare interface name."""

    package: str | None
    interface: str
    version: str | None = None

    @classmethod
    def parse(cls, name: str) -> InterfaceName:
        pkg, iface, version = split_interface_name(name)
        if iface is None:
            return cls(None, pkg, version)
        return cls(pkg, iface, version)

    @property
    def unversioned(self) -> str:
        """`wasi:cli/environment` (or the bare interface name when written without package)."""
        return f"{self.package}/{self.interface}" if self.package else self.interface

    def __str__(self) -> str:
        return f"{self.unversioned}@{self.version}" if self.version else self.unversioned

    def matches(self, pattern: InterfaceName) -> bool:
        """Whether this name (an import or export as the component declares it) is what
        `pattern` names: same interface, same package unless the pattern omits it, and a
        compatible version unless the pattern omits it."""
        if pattern.interface != self.interface:
            return False
        if pattern.package is not None and pattern.package != self.package:
            return False
        return pattern.version is None or compatible(self.version, pattern.version)

    def serves(self, wanted: InterfaceName) -> bool:
        """Whether this pattern (a `hosts=` key, a provider) serves the import `wanted`."""
        return wanted.matches(self)
