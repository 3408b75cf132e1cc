"""Who may do what on a lattice's NATS: credentials and per-role permissions, enforced by a
real nats-server (auth and TLS on, as `wasmesh lattice up` starts it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import nats.errors
import pytest

from tests.support.cli import wasmesh_process
from wasmesh.lattice import sync
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.connection import NatsOptions, connect_once
from wasmesh.lattice.credentials import user_seed, write_private
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.host import Host
from wasmesh.lattice.schema import Subjects
from wasmesh.lattice.server import NatsServer, start_server
from wasmesh.lattice.store import get_value, open_store
from wasmesh.lattice.topology import Topology

from .conftest import admin, lattice, run


def test_a_connection_without_a_known_credential_is_refused(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    bare = nats_server.options("admin")
    anonymous = NatsOptions(bare.url, None, bare.tls_ca, bare.tls_cert, bare.tls_key)
    with pytest.raises(LatticeError) as info:
        run(LatticeClient(anonymous).connect())
    # no credential was given: nothing was refused, one is missing, and the flag gives it
    assert str(info.value) == (
        f"the lattice at {bare.url} needs a credential; pass --creds FILE (or set "
        "WASMESH_NATS_CREDS) naming the admin.nk, host.nk or client.nk that "
        "`wasmesh lattice up` wrote under .wasmesh/creds/<lattice>/."
    )
    with pytest.raises(LatticeError, match=r"needs a credential; pass --creds .* the host\.nk"):
        run(Host(anonymous, allow_unsigned=True).start())  # a host names its own, at once
    stranger = tmp_path / "stranger.nk"
    write_private(stranger, user_seed())
    with pytest.raises(LatticeError, match=rf"refused the credential {stranger}: it is not a us"):
        run(LatticeClient(NatsOptions(bare.url, stranger, bare.tls_ca, bare.tls_cert,
                                      bare.tls_key)).connect())  # fmt: skip


def test_a_host_credential_cannot_deploy(
    nats_server: NatsServer, shop: Callable[..., Topology]
) -> None:
    options = nats_server.options("host")
    refused = rf"{options.creds} is not an admin credential of lattice default, so it cannot dep"
    with pytest.raises(LatticeError, match=refused):
        sync.deploy("shop", options, shop())

    async def unchanged() -> None:
        async with admin(nats_server) as client:
            assert (await get_value(client.store.apps, "shop"))[0] is None
            assert (await get_value(client.store.history, "shop.1"))[0] is None

    run(unchanged())


def test_a_host_credential_cannot_read_another_lattice(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        async with admin(nats_server, "other") as other:  # the other lattice exists
            await other.store.apps.put("secret", b"{}")
        violations: list[str] = []

        async def on_error(exc: Exception) -> None:
            violations.append(str(exc))

        nc = await connect_once(nats_server.options("host"), error_cb=on_error)
        try:
            with pytest.raises(Exception):  # noqa: B017 - no reply: the request was dropped
                await open_store(nc, Subjects("other"))
            needle = 'permissions violation for publish to "$js.api.stream.info.kv_wasmesh_other_'
            assert any(needle in v.lower() for v in violations), violations
            # its own lattice is readable
            store = await open_store(nc, Subjects("default"))
            assert (await get_value(store.apps, "nothing"))[0] is None
        finally:
            await nc.close()

    run(scenario())


def test_a_client_credential_invokes_but_cannot_serve_or_heartbeat(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path) as (client, _):
            await client.deploy("shop", shop())
            await client.wait_ready("shop", 30)
            async with LatticeClient(nats_server.options("client")) as caller:
                assert await caller.invoke("shop", "sum3", [1, 2, 3]) == 6
                subjects = caller.subjects
                beats: list[bytes] = []
                watcher = await connect_once(nats_server.options("host"))
                try:
                    sub = await watcher.subscribe(subjects.heartbeat("fake"))
                    await watcher.flush()
                    # impersonating a host: serving a unit's subject, sending its heartbeat
                    await caller.nc.subscribe(subjects.rpc("shop", "math", "x"), queue="rpc")
                    await caller.nc.publish(subjects.heartbeat("fake"), b"{}")
                    await caller.nc.flush()
                    for _ in range(100):
                        if len(caller.denied) >= 2:
                            break
                        await asyncio.sleep(0.05)
                    assert any("for subscription to" in d.lower() for d in caller.denied)
                    assert any("for publish to" in d.lower() for d in caller.denied)
                    with contextlib.suppress(nats.errors.TimeoutError):
                        beats.append((await sub.next_msg(timeout=0.5)).data)
                    assert beats == []
                finally:
                    await watcher.close()

    run(scenario(), 120)


def test_tls_is_required_and_checked_both_ways(nats_server: NatsServer) -> None:
    good = nats_server.options("client")
    assert good.url.startswith("tls://") and good.tls_cert is not None
    tls = good.tls_cert.parent
    plain = NatsOptions(good.url.replace("tls://", "nats://"), good.creds)  # no CA, no cert
    no_client_cert = NatsOptions(good.url, good.creds, good.tls_ca)
    # the server's own certificate, from the right CA, but not one for clients
    wrong_cert = NatsOptions(good.url, good.creds, good.tls_ca, tls / "server.pem",
                             tls / "server-key.pem")  # fmt: skip
    wrong_ca = NatsOptions(good.url, good.creds, good.tls_cert, good.tls_cert, good.tls_key)

    async def scenario() -> None:
        with pytest.raises(LatticeError) as info:
            await connect_once(plain)
        assert str(info.value) == (
            f"the certificate of NATS at {plain.url} is not signed by a CA this machine "
            "trusts; pass --tls-ca with the CA that signed it (`wasmesh lattice up --tls` "
            "writes it under .wasmesh/creds/tls/: ca.pem)."
        )
        with pytest.raises(LatticeError, match=r"not signed by the CA in .*client\.pem; pass"):
            await connect_once(wrong_ca)
        with pytest.raises(LatticeError) as info:
            await connect_once(no_client_cert)
        assert str(info.value).startswith(
            f"NATS at {good.url} requires a client certificate; pass --tls-cert and --tls-key"
        )
        with pytest.raises(LatticeError, match=r"refused the client certificate .*server\.pem"):
            await connect_once(wrong_cert)
        nc = await connect_once(good)
        await nc.close()

    run(scenario())


def test_only_hosts_reach_the_apps_key_value_bucket(nats_server: NatsServer) -> None:
    subjects = Subjects("default")
    key = "shop.default.kAQ"

    async def scenario() -> None:
        host_nc = await connect_once(nats_server.options("host"))
        try:  # hosts read and write the apps' stores, as units' wasi:keyvalue calls do
            kv = await host_nc.jetstream().key_value(subjects.key_value)
            revision = await kv.put(key, b"1")
            assert await kv.update(key, b"2", last=revision) > revision
            assert (await kv.get(key)).value == b"2"
        finally:
            await host_nc.close()
        violations: list[str] = []

        async def on_error(exc: Exception) -> None:
            violations.append(str(exc).lower())

        client_nc = await connect_once(nats_server.options("client"), error_cb=on_error)
        try:  # a client reaches neither the bucket's stream nor its keys
            with pytest.raises(Exception):  # noqa: B017 - no reply: the request was dropped
                await client_nc.jetstream(timeout=1).key_value(subjects.key_value)
            await client_nc.publish(f"$KV.{subjects.key_value}.{key}", b"forged")
            await client_nc.flush()
            for _ in range(50):
                if len(violations) >= 2:
                    break
                await asyncio.sleep(0.05)
            stream = f"kv_{subjects.key_value}".lower()
            assert any(stream in v and "publish" in v for v in violations), violations
            assert any(f"$kv.{subjects.key_value}".lower() in v for v in violations), violations
        finally:
            await client_nc.close()
        host_nc = await connect_once(nats_server.options("host"))
        try:
            kv = await host_nc.jetstream().key_value(subjects.key_value)
            assert (await kv.get(key)).value == b"2"  # the forged write never landed
        finally:
            await host_nc.close()

    run(scenario())


def test_tls_files_that_do_not_load_are_named_before_connecting(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    good = nats_server.options("client")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(LatticeError, match=rf"the TLS CA file {junk} holds no usable cert"):
        NatsOptions(good.url, good.creds, junk, good.tls_cert, good.tls_key).check()
    with pytest.raises(LatticeError, match=rf"certificate {junk} and key .* do not load as a"):
        NatsOptions(good.url, good.creds, good.tls_ca, junk, good.tls_key).check()


def test_hosts_publish_live_statistics_every_role_reads_and_only_hosts_write(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {"zone": "a"}) as (_, hosts):
            subjects = Subjects("default")
            readers = {role: await connect_once(nats_server.options(role))
                       for role in ("client", "admin")}  # fmt: skip
            denied: list[str] = []

            async def on_error(exc: Exception) -> None:
                denied.append(str(exc).lower())

            forger = await connect_once(nats_server.options("client"), error_cb=on_error)
            try:
                subs = {role: await nc.subscribe(subjects.stats()) for role, nc in readers.items()}
                for nc in readers.values():
                    await nc.flush()
                for role, sub in subs.items():  # the host's own summary reaches every reader
                    msg = await sub.next_msg(timeout=10)
                    assert msg.subject == subjects.stats(hosts[0].host_id), role
                    assert b'"labels":{"zone":"a"}' in msg.data, role
                await forger.publish(subjects.stats("fake"), b"{}")
                await forger.flush()
                for _ in range(100):
                    if denied:
                        break
                    await asyncio.sleep(0.05)
                assert any("for publish to" in d and ".stats.fake" in d for d in denied), denied
            finally:
                for nc in (*readers.values(), forger):
                    await nc.close()

    run(scenario(), 120)


def test_a_tls_url_refuses_a_server_without_tls(tmp_path: Path) -> None:
    plain = start_server(0, tmp_path / "js")  # no TLS, no credentials
    try:
        url = plain.url.replace("nats://", "tls://")
        r = wasmesh_process("status", "--nats", url, timeout=60)
        assert r.code == 2, r
        assert r.err.strip() == (
            f"error: NATS at {url} does not offer TLS, and a tls:// URL requires it (secure "
            f"connection required); connect with {plain.url} without TLS options, or start the "
            "server with TLS (`wasmesh lattice up --tls`)."
        ), r.err
    finally:
        plain.stop()


def test_an_expired_client_certificate_is_named_with_its_date_before_connecting(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    assert nats_server.secrets is not None and nats_server.secrets.tls is not None
    tls = nats_server.secrets.tls
    ca_key = serialization.load_pem_private_key(tls.ca_key.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(tls.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    ended = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old client")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(ended - datetime.timedelta(days=30)).not_valid_after(ended)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "old.pem", tmp_path / "old-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    good = nats_server.options("client")
    old = NatsOptions(good.url, good.creds, good.tls_ca, cert_path, key_path)
    with pytest.raises(LatticeError) as info:
        old.check()
    assert str(info.value).startswith(
        f"the TLS certificate {cert_path} expired on 2024-05-01 12:00 UTC; pass a current one"
    )
    r = wasmesh_process("status", *_cli(old), timeout=60)
    assert r.code == 2 and r.err.startswith(f"error: the TLS certificate {cert_path} expired")


def _cli(options: NatsOptions) -> list[str]:
    return ["--nats", options.url, "--creds", str(options.creds), "--tls-ca",
            str(options.tls_ca), "--tls-cert", str(options.tls_cert), "--tls-key",
            str(options.tls_key)]  # fmt: skip
