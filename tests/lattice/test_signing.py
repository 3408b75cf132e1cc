"""Signed artifacts: hosts run only what the lattice's signing key signed, byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.signing import Signer, Verifier, ensure_signing_key
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.store import digest_of
from wasmesh.lattice.topology import Topology, UnitDeployment

from .conftest import host, lattice, run


def test_a_signature_verifies_only_with_its_key_and_its_digest(tmp_path: Path) -> None:
    ensure_signing_key(tmp_path / "a.key", tmp_path / "a.pub")
    ensure_signing_key(tmp_path / "b.key", tmp_path / "b.pub")
    signer = Signer.from_file(tmp_path / "a.key")
    mine, theirs = Verifier.from_file(tmp_path / "a.pub"), Verifier.from_file(tmp_path / "b.pub")
    digest = digest_of(b"component")
    signature = signer.sign(digest)
    assert mine.key_id == signer.key_id != theirs.key_id
    assert mine.verify(digest, signature)
    assert not theirs.verify(digest, signature)
    assert not mine.verify(digest_of(b"other component"), signature)
    assert not mine.verify(digest, bytes([signature[0] ^ 1]) + signature[1:])


def test_a_key_passed_for_the_other_one_names_the_file_to_use(tmp_path: Path) -> None:
    private, public = tmp_path / "signing.key", tmp_path / "signing.pub"
    ensure_signing_key(private, public)
    with pytest.raises(LatticeError) as info:
        Signer.from_file(public)
    assert str(info.value) == (
        f"the signing key {public} is a public key; deploys sign with the private one "
        "(--sign-key signing.key, next to signing.pub, from `wasmesh lattice up`)."
    )
    with pytest.raises(LatticeError) as info:
        Verifier.from_file(private)
    assert str(info.value) == (
        f"the trusted key {private} is a private key; hosts verify with the public one "
        "(--trust signing.pub, next to signing.key, from `wasmesh lattice up`), and the "
        "private key stays with whoever deploys."
    )
    other = tmp_path / "notes.txt"
    other.write_text("not a key")
    with pytest.raises(LatticeError, match=f"the trusted key {other} is not a PEM public key"):
        Verifier.from_file(other)


async def _until_error(client: LatticeClient, app: str, timeout: float = 30) -> AppStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await client.status(app)
        if status.errors or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.05)


def test_unsigned_and_tampered_artifacts_are_refused_with_a_reason(
    nats_server: NatsServer, tmp_path: Path, guest: Callable[[str], Path]
) -> None:
    math = guest("lattice-math")

    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {}) as (client, hosts):
            unsigned = LatticeClient(nats_server.options("admin"))  # no signing key
            async with unsigned:
                await unsigned.deploy("plain", Topology((UnitDeployment("math", math),)))
            status = await _until_error(client, "plain")
            assert status.errors == [
                f"math on h0: artifact {digest_of(math.read_bytes())[:12]} is not signed by "
                f"the trusted key {client.signer.key_id if client.signer else ''}; deploy it "
                "with that key (--sign-key)."
            ]
            assert hosts[0].served == {}

            # one bit flipped in the stored artifact of a signed deploy, before a host fetched
            # it: the host refuses it, and deploying again republishes the genuine bytes
            v2 = Topology((UnitDeployment("math", guest("lattice-math-v2"), labels={"zone": "b"}),))
            await client.deploy("flipped", v2)  # placed nowhere yet: no host has zone=b
            data = bytearray(guest("lattice-math-v2").read_bytes())
            digest = digest_of(bytes(data))
            data[len(data) // 2] ^= 0x01
            await client.store.artifacts.put(digest, bytes(data))
            late = host(nats_server, labels={"zone": "b"}, host_id="h1", cache_dir=tmp_path / "c1")
            await late.start()
            try:
                for _ in range(600):
                    status = await client.status("flipped")
                    if any(e.startswith("math on h1") for e in status.errors):
                        break
                    await asyncio.sleep(0.05)
                (error,) = status.errors
                assert error.startswith(f"math on h1: artifact {digest[:12]} is corrupt")
                assert late.served == {}
                await client.deploy("flipped", v2)
                await client.wait_ready("flipped", 30)
                assert await client.invoke("flipped", "version", []) == 2
                stored = await client.store.artifacts.get(digest)
                assert digest_of(bytes(stored.data or b"")) == digest
            finally:
                await late.stop()
            assert hosts[0].served == {}

            # the genuine, signed artifact runs
            await client.deploy("good", Topology((UnitDeployment("math", math),)))
            await client.wait_ready("good", 30)
            assert await client.invoke("good", "add", [2, 3]) == 5

    run(scenario(), 120)
