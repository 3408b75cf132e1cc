"""The client side of a lattice's TLS: the context made from the PEM files, and what a failed
handshake means in the user's terms.

The files are `--tls-ca` (the CA that signed the server's certificate), `--tls-cert` and
`--tls-key` (this client's certificate and key, when the server verifies clients, as
`wasmesh lattice up --tls` starts it). Each file is loaded on its own, so a bad one is named.
Handshake failures are OpenSSL's reasons (`CERTIFICATE_VERIFY_FAILED`,
`TLSV13_ALERT_CERTIFICATE_REQUIRED`, ...), turned into the flag that fixes them.
"""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

from wasmesh.lattice.errors import LatticeError

# how a connection the server closed during or right after the handshake shows
_LOST = ("connection lost", "connection reset", "broken pipe", "eof")
LOCAL_TLS = "`wasmesh lattice up --tls` writes it under .wasmesh/creds/tls/"


def client_context(ca: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    """A client context trusting `ca` (None: the system's CAs), presenting `cert`/`key` when
    given; a `LatticeError` naming the file that is not usable PEM."""
    try:  # with `ca`, only it is trusted (as NATS clients' --tlsca replaces the system's)
        ctx = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise LatticeError(
            f"the TLS CA file {ca} holds no usable certificate ({_reason(exc)}); pass the "
            f"PEM certificate of the CA that signed the server's ({LOCAL_TLS}: ca.pem)."
        ) from None
    if ca is not None:
        _check_dates(ca, "TLS CA file", "the CA that signed the server's (ca.pem)")
    if cert is not None and key is not None:
        _check_dates(cert, "TLS certificate", "a current one (client.pem; it writes a new one "
                     "when client.pem and client-key.pem are removed)")  # fmt: skip
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            raise LatticeError(
                f"the TLS certificate {cert} and key {key} do not load as a pair "
                f"({_reason(exc)}); pass a PEM certificate and its own key ({LOCAL_TLS}: "
                "client.pem, client-key.pem)."
            ) from None
    return ctx


def _check_dates(path: Path, what: str, instead: str) -> None:
    """A `LatticeError` when the first certificate in `path` has expired or is not valid yet
    (checked here, as a server would refuse it with a less telling reason)."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return  # not a certificate the library reads: the load below names the file
    now = datetime.datetime.now(datetime.UTC)
    after, before = cert.not_valid_after_utc, cert.not_valid_before_utc
    if now > after:
        raise LatticeError(
            f"the {what} {path} expired on {after:%Y-%m-%d %H:%M} UTC; pass {instead} "
            f"({LOCAL_TLS})."
        )
    if now < before:
        raise LatticeError(
            f"the {what} {path} is not valid before {before:%Y-%m-%d %H:%M} UTC (is this "
            f"machine's clock right?); pass {instead} ({LOCAL_TLS})."
        )


def _reason(exc: BaseException) -> str:
    return getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)


def handshake_refused(text: str, tls: bool) -> bool:
    """Whether a connect failure (`text`) is the TLS handshake failing: retrying will not help."""
    lower = text.lower()
    lost = any(word in lower for word in _LOST)
    return "certificate" in lower or "tls" in lower or "ssl" in lower or (tls and lost)


def tls_refusal(url: str, ca: Path | None, cert: Path | None, text: str) -> str:
    """One sentence: why the TLS handshake with `url` failed (`text`, the error) and the fix."""
    upper = text.upper()
    # TLS 1.3 servers check the client's certificate after the handshake: the alert saying
    # why may arrive, or only the closed connection
    lost = any(word.upper() in upper for word in _LOST)
    if "CERTIFICATE_REQUIRED" in upper or (lost and cert is None):
        return (
            f"NATS at {url} requires a client certificate; pass --tls-cert and --tls-key "
            f"({LOCAL_TLS}: client.pem, client-key.pem)."
        )
    if "BAD_CERTIFICATE" in upper or "UNKNOWN_CA" in upper or lost:
        return (
            f"NATS at {url} refused the client certificate {cert}: it is not signed by a CA "
            f"the server trusts; pass one that is ({LOCAL_TLS}: client.pem)."
        )
    if "HOSTNAME MISMATCH" in upper or "IP ADDRESS MISMATCH" in upper:
        return (
            f"the certificate of NATS at {url} is not issued for that address; connect by a "
            "name or address it lists (for `lattice up --tls`: the --listen address)."
        )
    if "CERTIFICATE_VERIFY_FAILED" in upper:
        trusted = f"the CA in {ca}" if ca is not None else "a CA this machine trusts"
        return (
            f"the certificate of NATS at {url} is not signed by {trusted}; pass --tls-ca with "
            f"the CA that signed it ({LOCAL_TLS}: ca.pem)."
        )
    return f"the TLS handshake with NATS at {url} failed ({text}); check --tls-ca, --tls-cert."
