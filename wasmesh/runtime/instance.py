"""The one way an instance is made: `Runner`, used by every path.

`invoke`, `run`, the Python API, an app's units, HTTP instance pools (fresh or warm) and
lattice units (RPC and HTTP) all get their instances here. A `Runner` is made once per
component and policy: it picks a capability for every import (those given explicitly first,
then `wasmesh.plugins.CAPABILITIES`), lets each validate the policy, and links them once.
`instantiate()` then makes an instance in its own store with the policy's memory limit, each
capability's per-instance state prepared from the policy, and export lookups shared by every
instance of the runner. Each guest call runs under the policy's deadline and fuel.

When the engine's pool is full, an instance is allocated on demand instead (a twin runner on
the engine without a pool, `wasmesh.engine.loader.on_demand_twin`), with a warning in the log:
slower to make, never a failed call.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import wasmtime
from wasmtime import component as wc

from wasmesh.capabilities.base import Capability, Setup
from wasmesh.engine.calls import ExportFunc
from wasmesh.engine.config import POOLS, deadline_ticks, is_fuel_engine
from wasmesh.engine.faults import guest_error
from wasmesh.engine.loader import LoadedComponent, on_demand_twin
from wasmesh.engine.resident import new_store
from wasmesh.errors import GuestError, GuestExit, GuestTrap, LinkError, WasmeshError
from wasmesh.observe import metrics as _metrics
from wasmesh.observe import tracing
from wasmesh.plugins import CAPABILITIES
from wasmesh.policy import Policy
from wasmesh.runtime.exports import ExportTarget

NO_DEADLINE = 2**62
INSTANTIATE_TIMEOUT_S = 10.0  # a start function running longer is stopped (when no timeout)
POOL_FULL_WARNING_S = 60.0  # one warning a minute per runner while its pool stays full
# wasmtime's pooling allocator, out of slots of some kind (component or core instances,
# memories, tables, stacks)
_POOL_FULL = re.compile(r"maximum concurrent limit of \d+ for [\w ]+ reached")

_NO_MEMORY = "Cannot allocate memory (os error 12)"  # mmap's ENOMEM, reserving a memory

log = logging.getLogger("wasmesh.engine")


def no_address_space(name: str) -> str:
    """The sentence for an instance of `name` whose memory could not be mapped."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    limit = "" if soft == resource.RLIM_INFINITY else f" (ulimit -v is {soft // 1024})"
    return (f"cannot map memory for an instance of {name}: every instance reserves about 4 GiB "
            f"of address space, and this process has no more{limit}; raise `ulimit -v` or run "
            "fewer instances at once.")  # fmt: skip


class _PoolFull(Exception):
    """The pooling allocator had no free slot for the instance."""


@dataclass
class Runner:
    """Makes instances of one component under one policy.

    `capabilities` serve imports before the listed plug-ins' (imports forwarded to other units, a
    chosen WASI layer); `hosts` maps interface names to Python objects implementing them
    (`wasmesh.capabilities.python_host`). `serving` is set by the HTTP trigger: WASI output
    becomes log records and imports nothing serves trap when called (as `wasmtime serve`
    links Spin components) instead of failing to link. Raises `LinkError` for an import
    nothing serves, `WasmeshError` for a policy a capability refuses.
    """

    loaded: LoadedComponent
    policy: Policy = field(default_factory=Policy)
    hosts: Mapping[str, object] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    capabilities: Sequence[Capability] = ()
    program: str | None = None
    serving: bool = False
    app: str = ""  # the app the component belongs to (metrics' `app` label)

    def __post_init__(self) -> None:
        limits = self.policy.limits
        if limits.fuel is not None and not is_fuel_engine(self.loaded.engine):
            raise LinkError("fuel limits need the component loaded with `fuel=True`.")
        if self.program is None:
            self.program = self.loaded.path.name if self.loaded.path else "component"
        self.used = self._choose()
        self.linker = self._link()
        self._entered = [i for i, cap in enumerate(self.used) if cap.needs_enter]
        self._memory = limits.memory_bytes
        self._fuel = limits.fuel
        self._ticks = deadline_ticks(limits.timeout) if limits.timeout else NO_DEADLINE
        self._start_ticks = deadline_ticks(limits.timeout or INSTANTIATE_TIMEOUT_S)
        self._templates: dict[str, ExportFunc] = {}
        self._on_demand: Runner | None = None
        self._on_demand_lock = threading.Lock()
        self._warned_at = -POOL_FULL_WARNING_S

    def _choose(self) -> list[Capability]:
        """A capability for each import: explicit ones first, then `wasmesh.plugins`, in order."""
        setup = Setup(self.loaded, self.policy, self.argv, self.program or "component",
                      self.serving, self.app)  # fmt: skip
        explicit: list[Capability] = list(self.capabilities)
        if self.hosts:
            from wasmesh.capabilities.python_host import PythonHosts

            explicit.insert(0, PythonHosts(self.loaded, self.hosts))
        built: dict[str, Capability] = {}
        self._imports: dict[int, list[str]] = {}
        used: list[Capability] = []
        for item in self.loaded.world.imports:
            name = item.name
            cap = next((c for c in explicit if c.provides(name)), None)
            if cap is None:
                for reg in CAPABILITIES:
                    if not reg.may_provide(name):
                        continue
                    if reg.name not in built:
                        built[reg.name] = reg.build(setup)
                    if built[reg.name].provides(name):
                        cap = built[reg.name]
                        break
            if cap is None:
                if self.serving:
                    continue  # linked as a trap below
                raise LinkError(unsatisfied_import_message(self.loaded.label, name))
            if id(cap) not in self._imports:
                self._imports[id(cap)] = []
                used.append(cap)
            self._imports[id(cap)].append(name)
        for cap in used:
            cap.configure(self.policy)
        return used

    def _link(self) -> wc.Linker:
        linker = wc.Linker(self.loaded.engine)
        for cap in self.used:
            cap.link(linker, self._imports[id(cap)])
        if self.serving:
            linker.define_unknown_imports_as_traps(self.loaded.component)
        return linker

    def twin(self, loaded: LoadedComponent) -> Runner:
        """This runner for `loaded`, the same component in another engine (a twin from
        `wasmesh.engine.loader`): same policy and capabilities, linked anew."""
        return replace(self, loaded=loaded)

    def capability(self, name: str) -> Capability | None:
        """The capability called `name` this runner links, if any."""
        return next((c for c in self.used if c.name == name), None)

    def instantiate(self, timeout: float | None = None) -> Instance:
        """A fresh instance in a fresh store; its start function runs under `timeout` seconds
        (default: the policy's timeout, else `INSTANTIATE_TIMEOUT_S`). From the engine's pool,
        or allocated on demand (with a logged warning) when the pool is full."""
        if not tracing.enabled():  # a fresh instance per call pays for every step here
            return self._made(timeout)
        with tracing.instantiation(self.program or self.loaded.label):
            return self._made(timeout)

    def _made(self, timeout: float | None) -> Instance:
        try:
            return self._instantiate(timeout)
        except _PoolFull as e:
            return self._overflow(str(e)).instantiate(timeout)

    def _overflow(self, reason: str) -> Runner:
        """The twin runner allocating on demand, made on first use."""
        now = time.monotonic()
        if now - self._warned_at >= POOL_FULL_WARNING_S:
            self._warned_at = now
            log.warning(
                "the instance pool is full (%s): instances of %s are allocated on demand, "
                "more slowly, until slots free up; set a larger pool with --pool-instances or "
                "$WASMESH_POOL_INSTANCES",
                reason, self.program or self.loaded.label,
            )  # fmt: skip
        with self._on_demand_lock:
            if self._on_demand is None:
                self._on_demand = replace(self, loaded=on_demand_twin(self.loaded))
            return self._on_demand

    def _instantiate(self, timeout: float | None) -> Instance:
        metrics = _metrics.metering()
        started = time.perf_counter() if metrics is not None else 0.0
        store = new_store(self.loaded.engine)
        if self._memory is not None:
            store.set_limits(memory_size=self._memory)
        states = [cap.prepare(store, self.policy) for cap in self.used] if self.used else []
        instance = Instance(self, store, states)
        store.set_epoch_deadline(deadline_ticks(timeout) if timeout else self._start_ticks)
        if self._fuel is not None:
            store.set_fuel(self._fuel)
        try:
            instance.instance = instance.run_guest(self._pooled_instantiate, self.loaded.component)
        except _PoolFull:
            instance.close()
            raise
        except GuestError as e:  # counted apart from traps, which are calls that failed
            instance.close()
            if metrics is not None:
                metrics.instantiation_failed(self.app, self.program or "", e)
            raise
        except wasmtime.WasmtimeError as e:
            instance.close()
            if metrics is not None:
                metrics.instantiation_failed(self.app, self.program or "", None)
            raise LinkError(f"{self.loaded.label} could not be instantiated: {e}") from None
        if metrics is not None:
            pooled = id(self.loaded.engine) in POOLS
            instance.metered = metrics.instance_made(self.app, self.program or "",
                                                     time.perf_counter() - started,
                                                     pooled)  # fmt: skip
        return instance

    def _pooled_instantiate(self, store: wasmtime.Store, component: Any) -> wc.Instance:
        try:
            return self.linker.instantiate(store, component)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            found = _POOL_FULL.search(str(e))
            if found is not None:
                raise _PoolFull(found.group(0)) from None
            if _NO_MEMORY in str(e):
                raise WasmeshError(no_address_space(self.program or self.loaded.label)) from None
            raise

    def arm(self, store: wasmtime.Store, timeout: float | None = None) -> None:
        """Give `store` the deadline (`timeout` seconds, else the policy's) and the fuel of
        one call."""
        store.set_epoch_deadline(deadline_ticks(timeout) if timeout else self._ticks)
        if self._fuel is not None:
            store.set_fuel(self._fuel)

    def export(
        self, instance: Instance, name: str, sig: Any = None, resources: Any = None
    ) -> ExportFunc:
        """The export function `name` (`iface#func`) of `instance`; every instance of this
        runner shares its index and converters, so a fresh one does no lookups by name."""
        live = instance.instance
        assert live is not None, "the instance was closed"
        template = self._templates.get(name)
        if template is None:
            func = ExportFunc(instance.store, live, name, sig=sig, resources=resources)
            self._templates[name] = func.unbound()
            return func
        return template.for_instance(instance.store, live)


def unsatisfied_import_message(label: str, name: str) -> str:
    if name.startswith("wasi:http/"):
        hint = "serve it with `wasmesh serve`/`wasmesh up`, which provide wasi:http"
    elif name.startswith("wasi:"):
        hint = "this WASI interface is not provided by this host version"
    else:
        hint = (
            "compose a component that exports it (wasmesh.toml) or implement it in Python "
            "with `hosts={...}`"
        )
    return f"{label} imports `{name}`, which nothing provides; {hint}."


class Instance:
    """One live instance; calls run under its runner's policy."""

    def __init__(self, runner: Runner, store: wasmtime.Store, states: list[Any]) -> None:
        self.runner = runner
        self.store = store
        self.states = states  # per capability of the runner, what `prepare` returned
        self.instance: wc.Instance | None = None
        self.poisoned = False
        self.metered: Callable[[], None] | None = None  # tells the metrics it closed
        self._exports: dict[str, ExportFunc] = {}

    def state(self, capability: str) -> Any:
        """What capability `capability` prepared for this instance (None if not linked)."""
        for cap, state in zip(self.runner.used, self.states, strict=True):
            if cap.name == capability:
                return state
        return None

    def call(self, target: ExportTarget, args: Sequence[Any], timeout: float | None = None) -> Any:
        """Call an export function with Python values (see `wasmesh.engine.values`), stopped
        after `timeout` seconds (default: the policy's timeout)."""
        name = target.qualified
        func = self._exports.get(name)
        if func is None:
            func = self.runner.export(self, name, sig=target.func.sig)
            self._exports[name] = func
        self.runner.arm(self.store, timeout)
        return self.run_guest(func, *args)

    def run_guest(self, call: Any, *args: Any) -> Any:
        """Run `call(store, *args)` with the capabilities' per-instance state entered,
        translating guest failures into `GuestError`s (the instance is then poisoned)."""
        if self.poisoned:
            raise GuestError("this instance trapped earlier and cannot be called again")
        runner = self.runner
        entered = runner._entered
        tokens = [runner.used[i].enter(self.states[i]) for i in entered] if entered else None
        try:
            return call(self.store, *args)
        except GuestTrap as e:
            self.poisoned = True
            if isinstance(e.__cause__, GuestExit):  # wasi:cli/exit from a Python capability
                raise e.__cause__ from None
            if _metrics.ACTIVE is not None and self.instance is not None:  # not while starting
                _metrics.ACTIVE.guest_failed(runner.app, runner.program or "", e)
            raise
        except GuestError as e:
            self.poisoned = True
            if _metrics.ACTIVE is not None and self.instance is not None:  # not while starting
                _metrics.ACTIVE.guest_failed(runner.app, runner.program or "", e)
            raise
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            self.poisoned = True
            err = guest_error(e, memory_limited=runner._memory is not None)
            if _metrics.ACTIVE is not None and self.instance is not None:  # not while starting
                _metrics.ACTIVE.guest_failed(runner.app, runner.program or "", err)
            raise err from None
        finally:
            if tokens is not None:
                for i, token in zip(reversed(entered), reversed(tokens), strict=True):
                    runner.used[i].leave(token)

    def close(self) -> None:
        """Give back what capabilities handed the instance, and free its store now."""
        if self.states:
            for cap, state in zip(self.runner.used, self.states, strict=True):
                if state is not None:
                    cap.release(state)
            self.states = [None] * len(self.states)
        self.instance = None
        self.store.close()
        closed, self.metered = self.metered, None
        if closed is not None:
            closed()
