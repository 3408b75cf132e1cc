"""How wasmesh reaches a lattice's NATS: the URL, the credential and TLS, checked up front.

Every lattice connection (host, client, CLI command) is made from one `NatsOptions`:

- `url`: `nats://HOST:PORT` or `tls://HOST:PORT` (TLS required); several comma-separated for a
  cluster. Anything else is refused before a connection is tried.
- `creds`: a NATS credential file: an NKey user seed (`S...`, what `wasmesh lattice up` writes)
  or a JWT `.creds` file (what `nsc` writes for operator-mode clusters).
- `tls_ca` / `tls_cert` / `tls_key`: PEM files: the CA that signed the server's certificate,
  and this client's certificate and key when the server verifies clients.

Each connection's reply inboxes live under `_INBOX.<user public key>`, so a role's permissions
can let it read only its own replies (see `wasmesh.lattice.permissions`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from nats.aio.client import Client as NATS

from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.tlsclient import client_context, handshake_refused, tls_refusal

DEFAULT_URL = "nats://127.0.0.1:4222"
SCHEMES = ("nats", "tls")
ENV_CREDS = "WASMESH_NATS_CREDS"
ENV_TLS_CA = "WASMESH_NATS_TLS_CA"
ENV_TLS_CERT = "WASMESH_NATS_TLS_CERT"
ENV_TLS_KEY = "WASMESH_NATS_TLS_KEY"


class _TlsEofNoise(logging.Filter):
    """asyncio warns on every TLS connection nats-py closes (its protocol's eof_received
    returns True, which TLS ignores); harmless, and it would interleave with our output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received() has no effect when using ssl" not in record.getMessage()


logging.getLogger("asyncio").addFilter(_TlsEofNoise())

_SEED = re.compile(r"\bSU[A-Z2-7]{56}\b")  # a user NKey seed, alone or inside a .creds file
_JWT_BEGIN = "BEGIN NATS USER JWT"
_SEED_BEGIN = "BEGIN USER NKEY SEED"  # the seed block of a .creds file
_JWT = re.compile(r"BEGIN NATS USER JWT-+\s*\n\s*eyJ[\w.-]+")  # the JWT block of a .creds file


def check_url(url: str) -> str:
    """`url` if every server in it is `nats://HOST[:PORT]` or `tls://HOST[:PORT]` (the port
    defaults to 4222, as every NATS client's does); else a `LatticeError` naming it and the
    fix."""
    for one in url.split(","):
        one = one.strip()
        try:
            parts: SplitResult | None = urlsplit(one)
            assert parts is not None
            parts.port  # noqa: B018 - raises ValueError when the port is not a port number
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in SCHEMES
            or not parts.hostname
            or parts.path not in ("", "/")
        ):
            raise LatticeError(
                f"NATS URL {one!r} is not valid; use nats://HOST:PORT "
                "(or tls://HOST:PORT), e.g. nats://127.0.0.1:4222."
            )
    return url


@dataclass(frozen=True)
class NatsOptions:
    """Where a lattice's NATS is and how to prove who we are to it."""

    url: str = DEFAULT_URL
    creds: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def of(cls, value: str | NatsOptions) -> NatsOptions:
        """`value` as options (a bare URL has no credential and no TLS files)."""
        return value if isinstance(value, NatsOptions) else cls(value)

    @classmethod
    def from_env(cls, url: str, **given: Path | None) -> NatsOptions:
        """Options for `url`; files not `given` come from `WASMESH_NATS_CREDS`,
        `WASMESH_NATS_TLS_CA`, `WASMESH_NATS_TLS_CERT` and `WASMESH_NATS_TLS_KEY`."""
        env = {"creds": ENV_CREDS, "tls_ca": ENV_TLS_CA, "tls_cert": ENV_TLS_CERT,
               "tls_key": ENV_TLS_KEY}  # fmt: skip
        files: dict[str, Path | None] = {}
        for name, var in env.items():
            value = given.get(name)
            files[name] = value if value is not None else _env_path(var)
        return cls(url, **files)

    def with_url(self, url: str) -> NatsOptions:
        return replace(self, url=url)

    def check(self) -> NatsOptions:
        """These options if the URL is valid and every named file is readable."""
        check_url(self.url)
        files = (
            ("credential", self.creds),
            ("TLS CA", self.tls_ca),
            ("TLS certificate", self.tls_cert),
            ("TLS key", self.tls_key),
        )
        for what, path in files:
            if path is not None and Path(path).is_dir():
                raise LatticeError(f"the {what} file {path} is a directory; name a file in it.")
            if path is not None and not Path(path).is_file():
                raise LatticeError(f"the {what} file {path} does not exist; check the path.")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise LatticeError("--tls-cert and --tls-key go together; give both or neither.")
        self.seed()  # a file without a usable seed is refused now, not retried as an outage
        self.ssl_context()  # so are TLS files that do not load
        return self

    @property
    def tls(self) -> bool:
        """Whether connections use TLS."""
        return self.url.startswith("tls://") or self.tls_ca is not None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The client TLS context, or None for plain connections (`wasmesh.lattice.tlsclient`
        names a file that does not load)."""
        if not self.tls and self.tls_cert is None:
            return None
        return client_context(self.tls_ca, self.tls_cert, self.tls_key)

    def seed(self) -> str | None:
        """The NKey user seed of the credential file (None without one): the whole of an
        NKey seed file, or the seed block of a JWT `.creds` file. A `LatticeError` naming the
        file when it cannot be read or holds no valid seed (or, for `.creds`, no JWT)."""
        if self.creds is None:
            return None
        import nkeys  # type: ignore[import-untyped]

        path = Path(self.creds)
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            raise LatticeError(
                f"the credential file {path} cannot be read ({exc.strerror}); check its "
                "permissions."
            ) from None
        found = _SEED.search(text)
        if found is None:
            raise LatticeError(
                f"the credential file {path} holds no NATS user seed (SU...); pass a file "
                "`wasmesh lattice up` wrote (<lattice>/admin.nk, host.nk or client.nk) or an "
                "nsc .creds file."
            )
        try:  # nkeys decodes without checking the checksum every NKey carries: check it here
            raw = base64.b32decode(found.group(0) + "=" * (-len(found.group(0)) % 8))
            if nkeys.crc16_checksum(raw[:-2]) != raw[-2:]:
                raise ValueError("checksum")
            nkeys.from_seed(bytearray(found.group(0).encode())).wipe()
        except Exception:
            raise LatticeError(
                f"the credential file {path} holds a damaged NATS user seed (its checksum "
                "does not match); copy the file again from where `wasmesh lattice up` wrote it."
            ) from None
        if _SEED_BEGIN in text and _JWT_BEGIN not in text:
            raise LatticeError(
                f"the credential file {path} is a .creds file without its NATS USER JWT "
                "block; write it again with `nsc generate creds`, or pass an NKey seed file."
            )
        if _JWT_BEGIN in text and _JWT.search(text) is None:
            raise LatticeError(
                f"the credential file {path} has a NATS USER JWT block without a JWT in it; "
                "write it again with `nsc generate creds`."
            )
        return found.group(0)

    def public_key(self) -> str | None:
        """The NKey public key of the credential (None without one)."""
        seed = self.seed()
        if seed is None:
            return None
        import nkeys

        key: str = nkeys.from_seed(bytearray(seed.encode())).public_key.decode()
        return key

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect` (servers, credential, TLS, inbox prefix)."""
        out: dict[str, Any] = {"servers": [u.strip() for u in self.url.split(",")]}
        ctx = self.ssl_context()
        if ctx is not None:
            out["tls"] = ctx
        seed = self.seed()
        if self.creds is not None and seed is not None:
            if _JWT_BEGIN in Path(self.creds).read_text(errors="replace"):
                out["user_credentials"] = str(self.creds)
            else:  # the seed alone: a seed file may also hold comments or blank lines
                out["nkeys_seed_str"] = seed
            out["inbox_prefix"] = f"_INBOX.{self.public_key()}"
        return out


def _env_path(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value) if value else None


def describe(exc: BaseException) -> str:
    """A connection failure in a few words."""
    text = str(exc).strip() or type(exc).__name__
    if _unauthorized(exc):
        return "the server refused the credential"
    return text


def _unauthorized(exc: BaseException) -> bool:
    return "authorization violation" in str(exc).lower()


def refusal(options: NatsOptions, exc: BaseException, role: str | None = None) -> str:
    """Why the server at `options.url` refused a connection, and the fix, in one sentence
    (`role`: the credential the connection needs, when known)."""
    if _unauthorized(exc) and options.creds is None:
        files = f"{role}.nk" if role else "admin.nk, host.nk or client.nk"
        return (
            f"the lattice at {options.url} needs a credential; pass --creds FILE (or set "
            f"WASMESH_NATS_CREDS) naming the {files} that `wasmesh lattice up` wrote under "
            ".wasmesh/creds/<lattice>/."
        )
    if _unauthorized(exc):
        return (
            f"NATS at {options.url} refused the credential {options.creds}: it is not a user "
            "this server knows; pass one `wasmesh lattice up` wrote for this server."
        )
    return tls_refusal(options.url, options.tls_ca, options.tls_cert, describe(exc))


def refused(exc: BaseException, options: NatsOptions) -> bool:
    """Whether a connect failure is the server refusing us (retrying will not help)."""
    return _unauthorized(exc) or handshake_refused(str(exc), options.tls)


async def _attempt(options: NatsOptions, timeout: float, kwargs: dict[str, Any]) -> NATS:
    """One connection attempt; raises the attempt's own failure (nats-py would report "no
    servers available" and pass the cause only to the error callback)."""
    seen: list[Exception] = []
    forward = kwargs.pop("error_cb", None)

    async def on_error(exc: Exception) -> None:
        seen.append(exc)
        if forward is not None:
            await forward(exc)

    settings: dict[str, Any] = {
        **options.connect_kwargs(),
        "allow_reconnect": False,
        "max_reconnect_attempts": 1,  # nats-py's count starts after a first retry: one try
        "reconnect_time_wait": 0,
        "connect_timeout": timeout,
        "error_cb": on_error,
        **kwargs,
    }
    nc = NATS()
    try:
        await nc.connect(**settings)
    except Exception as exc:
        cause = seen[-1] if seen else exc  # before closing, which may report more
        with contextlib.suppress(Exception):  # a refused attempt leaves no socket open
            await asyncio.wait_for(nc.close(), 1.0)
        raise cause from None
    if options.tls and not nc._server_info.get("tls_required"):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 1.0)
        raise LatticeError(plaintext_refusal(options))
    return nc


def plaintext_refusal(options: NatsOptions) -> str:
    """One sentence: the server does not offer TLS, which the options require ("secure
    connection required", as the NATS Go client says of a `tls://` URL)."""
    why = "a tls:// URL" if options.url.startswith("tls://") else "--tls-ca"
    plain = options.url.replace("tls://", "nats://")
    return (
        f"NATS at {options.url} does not offer TLS, and {why} requires it (secure connection "
        f"required); connect with {plain} without TLS options, or start the server with TLS "
        "(`wasmesh lattice up --tls`)."
    )


async def connect_once(
    options: NatsOptions, timeout: float = 2.0, role: str | None = None, **kwargs: Any
) -> NATS:
    """Connect with `options` (plus nats-py `kwargs`), trying once; a `LatticeError` naming
    the server and the cause when it fails (and, with `role`, the credential it needs)."""
    options.check()
    try:
        return await _attempt(options, timeout, dict(kwargs))
    except LatticeError:
        raise
    except Exception as exc:
        if refused(exc, options):
            raise LatticeError(refusal(options, exc, role)) from None
        raise LatticeError(
            f"cannot connect to NATS at {options.url} ({describe(exc)}); start one with "
            "`wasmesh lattice up` or check the URL."
        ) from None


def keep_reconnecting(nc: NATS, wait: float = 0.2) -> None:
    """After the first connection succeeded, reconnect forever on later outages.

    nats-py applies one reconnect policy to the first connection and to later ones; the first
    one is tried here with our own backoff and summary, so the policy is relaxed afterwards.
    """
    with contextlib.suppress(Exception):
        nc.options["allow_reconnect"] = True
        nc.options["max_reconnect_attempts"] = -1
        nc.options["reconnect_time_wait"] = wait


async def connect_retrying(
    options: NatsOptions,
    give_up_after: float | None,
    report: Callable[[str], None],
    role: str | None = None,
    **kwargs: Any,
) -> NATS:
    """Connect, retrying an unreachable server with exponential backoff (0.2 s doubling to
    5 s) and reporting it through `report` once, then every `SUMMARY_S` as one summary line.

    A refused credential or TLS failure is not retried. After `give_up_after` seconds (None:
    never) a `LatticeError` says how long it tried.
    """
    options.check()
    started = time.monotonic()
    delay, attempts, reported = 0.2, 0, -SUMMARY_S
    while True:
        left = None if give_up_after is None else give_up_after - (time.monotonic() - started)
        attempt_timeout = 2.0 if left is None else max(0.1, min(2.0, left))
        try:
            nc = await _attempt(options, attempt_timeout, dict(kwargs))
        except LatticeError:
            raise
        except Exception as exc:
            if refused(exc, options):
                raise LatticeError(refusal(options, exc, role)) from None
            attempts += 1
            elapsed = time.monotonic() - started
            if give_up_after is not None and elapsed >= give_up_after:
                raise LatticeError(
                    f"cannot reach NATS at {options.url} ({describe(exc)}) after "
                    f"{_count(attempts)} in {elapsed:.1f} s; start it or check the URL."
                ) from None
            if elapsed - reported >= SUMMARY_S:
                reported = elapsed
                report(
                    f"cannot reach NATS at {options.url} ({describe(exc)}); retrying "
                    f"({_count(attempts)} in {elapsed:.0f} s)"
                )
            wait = delay if give_up_after is None else min(delay, give_up_after - elapsed)
            await asyncio.sleep(wait)
            delay = min(5.0, delay * 2)
            continue
        keep_reconnecting(nc)
        return nc


def _count(attempts: int) -> str:
    return f"{attempts} attempt" + ("" if attempts == 1 else "s")


SUMMARY_S = 10.0  # an unreachable server is reported once, then this often
