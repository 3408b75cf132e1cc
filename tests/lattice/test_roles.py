"""A command holding another role's credential is refused at once, naming the one to use;
reading status is open to every role of the lattice (a real nats-server, auth and TLS on)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import wasmesh, wasmesh_process
from wasmesh.lattice import sync
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.host import Host
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.signing import Verifier
from wasmesh.lattice.store import HISTORY
from wasmesh.lattice.topology import Topology

from .conftest import admin, run


def _flags(options: NatsOptions) -> list[str]:
    out = ["--nats", options.url]
    files = {"--creds": options.creds, "--tls-ca": options.tls_ca,
             "--tls-cert": options.tls_cert, "--tls-key": options.tls_key}  # fmt: skip
    for flag, path in files.items():
        if path is not None:
            out += [flag, str(path)]
    return out


@pytest.mark.parametrize("role", ["client", "admin"])
def test_a_host_with_another_roles_credential_exits_2_at_once_naming_the_host_one(
    nats_server: NatsServer, role: str
) -> None:
    assert nats_server.secrets is not None
    keys = nats_server.secrets.lattice()
    options = nats_server.options(role)
    r = wasmesh_process("host", *_flags(options), "--trust", keys.trust, timeout=60)
    assert r.code == 2, (r.out, r.err)
    assert r.err.strip() == (
        f"error: the credential {options.creds} is not a host credential of lattice default, "
        f"so it cannot serve as a host; pass --creds {keys.creds('host')}."
    ), r.err
    assert r.out == ""  # it never announced itself as a host


def _unbuildable_app(tmp_path: Path) -> Path:
    """An app whose manifest reads well and whose one component fails to build."""
    app = tmp_path / "app"
    (app / "a").mkdir(parents=True)
    (app / "a" / "app.wat").write_text("(module (func $broken")
    (app / "wasmesh.toml").write_text(
        '[app]\nname = "x"\n\n[components.a]\nsource = "a"\nlanguage = "wat"\n'
    )
    return app


def test_deploy_with_a_host_credential_is_refused_before_the_app_is_built(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    assert nats_server.secrets is not None
    keys = nats_server.secrets.lattice()
    # an app whose build fails: a refusal that names the build came after it (reading the
    # manifest and its variables, which takes no time, comes first)
    app = _unbuildable_app(tmp_path)
    options = nats_server.options("host")
    r = wasmesh("deploy", app, *_flags(options))
    assert r.code == 2, r
    assert r.err.strip() == (
        f"error: the credential {options.creds} is not an admin credential of lattice default, "
        f"so it cannot deploy; pass --creds {keys.creds('admin')}."
    ), r.err


@pytest.mark.parametrize("verb", [("deploy",), ("rollback", "shop", "1"), ("undeploy", "shop")])
def test_an_admin_command_without_a_credential_names_the_admin_one(
    nats_server: NatsServer, tmp_path: Path, verb: tuple[str, ...]
) -> None:
    bare = nats_server.options("admin")
    anonymous = NatsOptions(bare.url, None, bare.tls_ca, bare.tls_cert, bare.tls_key)
    args = (*verb, str(_unbuildable_app(tmp_path))) if verb == ("deploy",) else verb
    r = wasmesh(*args, *_flags(anonymous))
    assert r.code == 2, r
    assert r.err.strip().splitlines()[-1] == (
        f"error: the lattice at {bare.url} needs a credential; pass --creds FILE (or set "
        "WASMESH_NATS_CREDS) naming the admin.nk that `wasmesh lattice up` wrote under "
        ".wasmesh/creds/<lattice>/."
    ), r.err


def test_an_unsigned_deploy_is_announced_before_the_build(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    app = _unbuildable_app(tmp_path)
    r = wasmesh("deploy", app, *_flags(nats_server.options("admin")))
    assert r.code == 2, r
    note, error = r.err.strip().splitlines()[:2]
    assert note == (
        "note: the artifacts will not be signed (no --sign-key or WASMESH_SIGNING_KEY); "
        "hosts started with --trust refuse unsigned artifacts."
    )
    assert "app.wat" in error or "build" in error, error  # the build came after, and failed


@pytest.mark.parametrize("role", ["host", "client"])
def test_rollback_and_undeploy_need_the_admin_credential(
    nats_server: NatsServer, shop: Callable[..., Topology], role: str
) -> None:
    async def deployed() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop())

    run(deployed())
    options = nats_server.options(role)
    not_admin = rf"{options.creds} is not an admin credential of lattice default, so it cannot"
    with pytest.raises(LatticeError, match=not_admin + " roll back"):
        sync.rollback("shop", 1, options)
    with pytest.raises(LatticeError, match=not_admin + " undeploy"):
        sync.undeploy("shop", options)
    assert sync.status("shop", nats_server.options()).desired.version == 1  # nothing changed


def test_status_is_read_by_every_role_of_the_lattice_and_no_other(
    nats_server: NatsServer, shop: Callable[..., Topology]
) -> None:
    async def deployed() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop())
        async with admin(nats_server, "other") as client:  # the other lattice exists too
            await client.apps()

    run(deployed())
    for role in ("admin", "host", "client"):
        options = nats_server.options(role)
        assert sync.status("shop", options).desired.version == 1, role
        assert [d.app for d in sync.apps(options)] == ["shop"], role
        r = wasmesh("status", "shop", *_flags(options))
        assert r.code == 0 and "shop v1" in r.out, (role, r)


VERBS = [
    ("status", "shop"),
    ("invoke", "--app", "shop", "add", "1", "2"),
    ("undeploy", "shop"),
    ("rollback", "shop", "1"),
    ("deploy", str(Path(__file__).resolve().parents[2] / "examples" / "polyglot")),
]


@pytest.mark.parametrize("verb", VERBS, ids=[v[0] for v in VERBS])
@pytest.mark.parametrize("role", ["admin", "client"])
def test_another_lattices_credential_is_told_which_lattice_it_belongs_to(
    nats_server: NatsServer, verb: tuple[str, ...], role: str
) -> None:
    assert nats_server.secrets is not None
    stranger = nats_server.options(role, "other")  # a credential of another lattice
    r = wasmesh(*verb, *_flags(stranger))
    assert r.code == 2, r
    # the first thing each command asks NATS; no JetStream request waits out its timeout
    assert r.err.strip() == (
        f"error: the credential {stranger.creds} is not a credential of lattice default: it "
        "belongs to lattice other; pass --lattice other, or lattice default's own file "
        f"(--creds {nats_server.secrets.lattice().creds(role)})."
    ), r.err


def test_a_host_with_another_lattices_credential_is_told_so(nats_server: NatsServer) -> None:
    assert nats_server.secrets is not None
    stranger = nats_server.options("host", "other")
    trust = nats_server.secrets.lattice().trust
    r = wasmesh_process("host", *_flags(stranger), "--trust", trust, timeout=60)
    assert r.code == 2, (r.out, r.err)
    assert r.err.strip() == (
        f"error: the credential {stranger.creds} is not a credential of lattice default: it "
        "belongs to lattice other; pass --lattice other, or lattice default's own file "
        f"(--creds {nats_server.secrets.lattice().creds('host')})."
    ), r.err


def test_only_the_admin_creates_a_lattices_buckets_and_others_are_told_so(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async def forget_other() -> None:  # as on a cluster where nobody ran an admin command yet
        async with admin(nats_server, "other") as client:
            for what in HISTORY:
                await client.store.js.delete_key_value(client.subjects.bucket(what))
            await client.store.js.delete_object_store(client.subjects.artifacts)

    run(forget_other())
    missing = "lattice other has no bucket wasmesh_other_"
    with pytest.raises(LatticeError, match=missing + r".*only the admin credential may"):
        sync.apps(nats_server.options("client", "other"), "other")
    assert nats_server.secrets is not None
    trust = Verifier.from_file(nats_server.secrets.lattice("other").trust)

    def joining() -> Host:
        return Host(nats_server.options("host", "other"), "other", trust=trust, cache_dir=tmp_path)

    with pytest.raises(LatticeError, match=missing + r".*only the admin credential may"):
        run(joining().run())  # and it closed what it opened
    assert sync.apps(nats_server.options("admin", "other"), "other") == []  # the admin creates

    async def join_and_leave() -> None:
        host = joining()
        await host.start()
        assert host.store.subjects.lattice == "other"
        await host.stop()

    run(join_and_leave())
