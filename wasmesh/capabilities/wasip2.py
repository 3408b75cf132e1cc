"""WASI 0.2 from wasmtime itself (`add_wasip2`), configured per instance from the grants.

Serves the standard `wasi:cli`, `wasi:clocks`, `wasi:filesystem`, `wasi:io`, `wasi:random` and
`wasi:sockets` names. A `WasiConfig` starts empty: no env, no preopened dirs, no stdin and no
network; only what `Grants` names is added. Output goes to the host's stdout/stderr, or, in
a serving process (`guest_log.show_guest_output`), to the log tagged with the component, as
served HTTP components' output does.
"""

from __future__ import annotations

import logging
from typing import Any

import wasmtime
from wasmtime import component as wc

from wasmesh.capabilities.base import HostCapability
from wasmesh.capabilities.wasi import guest_log
from wasmesh.capabilities.wasi.versions import check_wasi_02
from wasmesh.policy import Grants, Policy

PACKAGES = ("wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/", "wasi:random/",
            "wasi:sockets/")  # fmt: skip


class WasiP2(HostCapability):
    """wasmtime's native WASI 0.2, deny-by-default."""

    name = "wasi"

    def __init__(self, argv: tuple[str, ...] = (), program: str = "component") -> None:
        self.argv = (program, *argv)

    def provides(self, import_name: str) -> bool:
        return import_name.startswith(PACKAGES)

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        check_wasi_02(import_names)
        linker.add_wasip2()

    def prepare(self, store: wasmtime.Store, policy: Policy) -> Any:
        config = wasi_config(policy.grants, self.argv)
        if guest_log.shown():  # a server (messaging and cron handlers): output joins the log
            logger = logging.getLogger(f"{guest_log.GUEST_LOGGER}.{self.argv[0]}")
            config.stdout_custom = guest_log.OutputLines(logger, "stdout").write
            config.stderr_custom = guest_log.OutputLines(logger, "stderr").write
        store.set_wasi(config)


def wasi_config(grants: Grants, argv: tuple[str, ...]) -> wasmtime.WasiConfig:
    config = wasmtime.WasiConfig()
    config.argv = list(argv)
    config.env = grants.environment()
    config.inherit_stdout()
    config.inherit_stderr()
    if grants.stdin:
        config.inherit_stdin()
    for d in grants.dirs:
        config.preopen_dir(str(d.host), d.guest, fs_mutable=d.writable)
    if grants.network:
        wasmtime._ffi.wasi_config_inherit_network(config.ptr())
        wasmtime._ffi.wasi_config_allow_ip_name_lookup(config.ptr(), True)
    return config
