"""How a lattice connection is described and checked before any connection is tried."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import wasmesh
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.credentials import user_seed, write_private
from wasmesh.lattice.errors import LatticeError

UNREACHABLE = "nats://127.0.0.1:1"  # nothing listens: a check that connected would hang or retry


def _damaged(seed: bytes) -> bytes:
    """The seed with one character changed, so its checksum no longer matches."""
    swap = b"B" if seed[10:11] != b"B" else b"C"
    return seed[:10] + swap + seed[11:]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "holds no NATS user seed (SU...)"),
        (b"not a credential\n", "holds no NATS user seed (SU...)"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "holds no NATS user seed (SU...)"),
        (None, "holds a damaged NATS user seed"),
        (
            b"-----BEGIN NATS USER JWT-----\n------END NATS USER JWT------\n"
            b"-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n",
            "has a NATS USER JWT block without a JWT in it",
        ),
        (
            b"-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n",
            "is a .creds file without its NATS USER JWT block",
        ),
    ],
)
def test_a_credential_file_without_a_usable_seed_is_refused_before_connecting(
    tmp_path: Path, content: bytes | None, says: str
) -> None:
    creds = tmp_path / "bad.nk"
    seed = user_seed()
    write_private(creds, _damaged(seed) if content is None else content.replace(b"%s", seed))
    with pytest.raises(LatticeError, match=re.escape(f"credential file {creds} {says}")):
        NatsOptions(UNREACHABLE, creds).check()


def test_a_credential_that_is_a_directory_or_missing_is_named(tmp_path: Path) -> None:
    with pytest.raises(LatticeError, match=re.escape(f"file {tmp_path} is a directory; name a")):
        NatsOptions(UNREACHABLE, tmp_path).check()
    with pytest.raises(LatticeError, match=re.escape(f"file {tmp_path / 'x.nk'} does not exist")):
        NatsOptions(UNREACHABLE, tmp_path / "x.nk").check()


def test_a_seed_file_may_carry_comments_and_blank_lines(tmp_path: Path) -> None:
    plain, commented = tmp_path / "plain.nk", tmp_path / "commented.nk"
    seed = user_seed()
    write_private(plain, seed)
    write_private(commented, b"# the host credential\n\n" + seed + b"\n\n")
    key = NatsOptions(UNREACHABLE, plain).check().public_key()
    assert key is not None and key.startswith("U")
    assert NatsOptions(UNREACHABLE, commented).check().public_key() == key
    assert NatsOptions(UNREACHABLE, commented).connect_kwargs()["nkeys_seed_str"] == seed.decode()


COMMANDS = [
    ("host", "--allow-unsigned", "--connect-timeout", "5"),
    ("deploy", "."),
    ("status",),
    ("undeploy", "shop"),
    ("rollback", "shop", "1"),
    ("invoke", "--app", "shop", "add", "1", "2"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_refuses_a_malformed_credential_at_once(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    creds = tmp_path / "host.nk"
    write_private(creds, b"SUNOTASEED\n")
    r = wasmesh(*command, "--nats", UNREACHABLE, "--creds", creds)
    assert r.code == 2, r
    assert r.err.strip() == (
        f"error: the credential file {creds} holds no NATS user seed (SU...); pass a file "
        "`wasmesh lattice up` wrote (<lattice>/admin.nk, host.nk or client.nk) or an nsc "
        ".creds file."
    ), r.err


def test_a_url_may_leave_out_the_port_as_every_nats_client_allows() -> None:
    for url in ("nats://127.0.0.1", "tls://nats.example", "nats://a:4222,nats://b"):
        assert NatsOptions(url).check().url == url
    for url in ("notaurl", "127.0.0.1:4222", "nats://127.0.0.1:99999", "http://h:4222", "nats://"):
        with pytest.raises(LatticeError, match=re.escape(f"NATS URL {url!r} is not valid")):
            NatsOptions(url).check()
