"""Running one deployment unit on a host: the `UnitRunner` Protocol and its component runner.

A host needs three things from a unit: its export interfaces (with signatures), a way to
call one of their functions from any thread within a deadline, and a way to stop it. The unit
runs under the `Policy` its desired state carries (the grants and limits of its manifest);
imports satisfied by a unit on another host are forwarded over NATS
(`wasmesh.capabilities.forwarding.ForwardedImports` with the transport of
`wasmesh.lattice.stub`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from wasmesh.capabilities.forwarding import ForwardedImports, ImportProvider
from wasmesh.capabilities.messaging import Broker, messaging_for
from wasmesh.engine.loader import load_component
from wasmesh.engine.types import FuncSig
from wasmesh.engine.world import FuncItem, InterfaceItem
from wasmesh.policy import Policy
from wasmesh.runtime.exports import ExportTarget
from wasmesh.runtime.instance import Runner

Interfaces = Mapping[str, Mapping[str, FuncSig]]  # interface ("" = world level) -> func -> sig
HostFunc = Callable[..., Any]


class UnitRunner(Protocol):
    """A started unit: call its exports from any thread, then close it."""

    @property
    def exports(self) -> Interfaces: ...

    def call(
        self, interface: str, func: str, args: Sequence[Any], timeout: float | None = None
    ) -> Any: ...

    def close(self) -> None: ...


class UnitLoader(Protocol):
    """Starts a unit from its component file (`ComponentUnit`'s signature): the artifact, the
    imports forwarded to other units, the policy, the host's message broker, the name its
    instances go by, whether to instantiate it now (`warm`) or at its first call, and the app
    it belongs to."""

    def __call__(
        self,
        path: Path,
        providers: Mapping[str, ImportProvider] | None = None,
        policy: Policy | None = None,
        broker: Broker | None = None,
        program: str | None = None,
        warm: bool = True,
        app: str = "",
    ) -> UnitRunner: ...


def interfaces(items: Sequence[InterfaceItem | FuncItem]) -> dict[str, dict[str, FuncSig]]:
    """World items as interface -> function -> signature ("" holds world-level functions)."""
    out: dict[str, dict[str, FuncSig]] = {}
    for item in items:
        if isinstance(item, InterfaceItem):
            out[item.name] = {f.name: f.sig for f in item.funcs}
        else:
            out.setdefault("", {})[item.name] = item.sig
    return out


class ComponentUnit:
    """A unit run from a component file, a fresh instance per call as it would locally."""

    def __init__(
        self,
        path: Path,
        providers: Mapping[str, ImportProvider] | None = None,
        policy: Policy | None = None,
        broker: Broker | None = None,
        program: str | None = None,
        warm: bool = True,
        app: str = "",
    ) -> None:
        """`program` names the unit's instances (guest log records; default: the file's).

        `warm` (the default) links the unit and instantiates it once now, so a unit that
        cannot be instantiated (a start function that traps, a missing import) fails here,
        not on a call. Not warm (a replica beyond the app's `min-replicas`): only the
        compiled component is loaded, for its exports; the unit is linked and instantiated
        at its first call, and holds no linker or instance until then.
        """
        self.path = path
        self.policy = policy or Policy()
        loaded = load_component(path, fuel=self.policy.limits.fuel is not None)
        self._exports = interfaces(loaded.world.exports)
        self._targets: dict[tuple[str, str], ExportTarget] = {}
        self._lock = threading.Lock()
        self._runner: Runner | None = None

        def link() -> Runner:
            forwarded = ForwardedImports(loaded.world, providers or {}, program or path.stem,
                                         "lattice", app)  # fmt: skip
            messaging = (messaging_for(loaded, broker, program or "", app)
                         if broker is not None else ())  # fmt: skip
            return Runner(loaded, self.policy, capabilities=(forwarded, *messaging),
                          program=program or path.name, app=app)  # fmt: skip

        self._link: Callable[[], Runner] | None = link
        if warm:
            self.runner.instantiate().close()  # ready means instantiable

    @property
    def started(self) -> bool:
        """Whether the unit has been linked (at start when warm, else by its first call)."""
        return self._runner is not None

    @property
    def runner(self) -> Runner:
        """The unit's runner, linked on first use."""
        runner = self._runner
        if runner is None:
            with self._lock:
                if self._runner is None:
                    assert self._link is not None
                    self._runner, self._link = self._link(), None
                runner = self._runner
        return runner

    @property
    def exports(self) -> Interfaces:
        return self._exports

    def call(
        self, interface: str, func: str, args: Sequence[Any], timeout: float | None = None
    ) -> Any:
        """Call `interface#func` in a fresh instance, stopped after `timeout` seconds (the
        caller's deadline) or the policy's timeout, whichever comes first; guest failures
        raise `GuestError`s."""
        target = self._targets.get((interface, func))
        if target is None:
            sig = self._exports[interface][func]
            target = ExportTarget(interface or None, FuncItem(func, sig))
            self._targets[(interface, func)] = target
        own = self.policy.limits.timeout
        if timeout is None or (own is not None and own < timeout):
            timeout = own
        runner = self._runner if self._runner is not None else self.runner
        instance = runner.instantiate()
        try:
            return instance.call(target, args, timeout)
        finally:
            instance.close()

    def close(self) -> None:
        """Forget cached export targets; instances are per call, so nothing else lives on."""
        self._targets.clear()
