"""The manifest's key-value stores: `[key-value.NAME]` tables and `key-value-stores` grants.

    [components.counter]
    key-value-stores = ["default", "cache"]   # the stores the component may open

    [key-value.cache]                          # where a store lives (Spin's runtime config)
    backend = "memory"                         # "sqlite" (default) | "memory" | "nats"
    path = "data/cache.db"                     # sqlite: the database file, relative to the app
    bucket = "shop"                            # nats: the JetStream KV bucket
    url = "nats://127.0.0.1:4222"              # nats: the server (a lattice host uses its own)

`default` needs no table: it is a SQLite file under the app's state directory
(`.wasmesh/state/default.db`). Any other granted store needs its table, as in Spin, where a
label other than `default` needs runtime config. Each grant becomes a
`wasmesh.policy.StoreGrant` in the component's policy.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from wasmesh.compose._positions import Path_
from wasmesh.compose._reader import Reader
from wasmesh.errors import ManifestError
from wasmesh.policy import StoreGrant

STATE_DIR = Path(".wasmesh") / "state"
GRANT_KEY = "key-value-stores"
TABLE = "key-value"
BACKENDS = ("sqlite", "memory", "nats")
DEFAULT_BUCKET = "wasmesh-kv"
_STORE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_BUCKET = re.compile(r"^[A-Za-z0-9_-]+$")


def read_stores(reader: Reader, raw: Any, root: Path, app: str) -> dict[str, StoreGrant]:
    """Every store the app declares (plus `default`), by name, with its backend and location."""
    tables = reader.typed(raw, (TABLE,), dict, "a table of [key-value.NAME]")
    state = (root / STATE_DIR).resolve()
    stores = {"default": StoreGrant("default", "sqlite", str(state / "default.db"))}
    for name, body in tables.items():
        where: Path_ = (TABLE, name)
        _check_name(reader, where, name, f"[key-value.{name}]")
        body = reader.table(body, where, ("backend", "path", "bucket", "url"))
        backend = reader.typed(body.get("backend", "sqlite"), (*where, "backend"), str, "a string")
        if backend not in BACKENDS:
            raise reader.fail(
                (*where, "backend"),
                f"unknown key-value backend `{backend}`; use one of {', '.join(BACKENDS)}",
            )
        for key, allowed in (("path", "sqlite"), ("bucket", "nats"), ("url", "nats")):
            if key in body and backend != allowed:
                raise reader.fail((*where, key), f"`{key}` applies to the {allowed} backend only")
        if backend == "sqlite":
            path = reader.path_string(body.get("path", str(STATE_DIR / f"{name}.db")),
                                      (*where, "path"))  # fmt: skip
            location = str((root / path).resolve())
        elif backend == "memory":
            location = f"{root.resolve()}#{name}"
        else:
            bucket = reader.typed(body.get("bucket", DEFAULT_BUCKET), (*where, "bucket"), str,
                                  "a string")  # fmt: skip
            if not _BUCKET.match(bucket):
                raise reader.fail(
                    (*where, "bucket"),
                    f"bucket `{bucket}` must be letters, digits, `-` and `_` (a NATS KV bucket)",
                )
            location = f"{bucket}/{app}.{name}"
            if "url" in body:
                url = reader.typed(body["url"], (*where, "url"), str, "a NATS URL")
                location += ";" + _check_url(reader, (*where, "url"), url)
        stores[name] = StoreGrant(name, backend, location)
    return stores


def grant_stores(
    reader: Reader, where: Path_, body: dict[str, Any], stores: dict[str, StoreGrant]
) -> tuple[StoreGrant, ...]:
    """The stores the component table `body` at `where` grants (`key-value-stores`)."""
    names = reader.strings(body.get(GRANT_KEY, []), (*where, GRANT_KEY))
    grants: list[StoreGrant] = []
    for name in names:
        _check_name(reader, (*where, GRANT_KEY), name, "a key-value store")
        if name not in stores:
            raise reader.fail(
                (*where, GRANT_KEY),
                f"store `{name}` has no [key-value.{name}] table saying where it lives; add one "
                '(only "default" needs none)',
            )
        if stores[name] in grants:
            raise reader.fail(
                (*where, GRANT_KEY),
                f"store `{name}` is listed twice in `{GRANT_KEY}`; list each store once",
            )
        grants.append(stores[name])
    return tuple(grants)


def bind_stores(
    reader: Reader, raw: Any, bodies: dict[str, Any], components: tuple[Any, ...], root: Path,
    app: str,
) -> tuple[Any, ...]:  # fmt: skip
    """`components` (`ComponentSpec`s) with the stores their tables in `bodies` grant."""
    stores = read_stores(reader, raw, root, app)
    out = []
    for spec in components:
        body = bodies.get(spec.name)
        granted = grant_stores(reader, ("components", spec.name), body, stores) if isinstance(
            body, dict) else ()  # fmt: skip
        grants = replace(spec.policy.grants, key_value_stores=granted)
        out.append(replace(spec, policy=replace(spec.policy, grants=grants)))
    return tuple(out)


def check_local_stores(manifest: Any) -> None:
    """Refuse (`ManifestError`) a granted `nats` store without a `url` in `manifest` (a
    `Manifest`) run outside a lattice: only a lattice host supplies its NATS connection."""
    for spec in manifest.components:
        for grant in spec.policy.grants.key_value_stores:
            if grant.backend == "nats" and ";" not in grant.location:
                raise ManifestError(
                    f"{manifest.where((TABLE, grant.name))}: key-value store `{grant.name}` "
                    "uses the nats backend without a `url`, which only a lattice host "
                    f'supplies; add `url = "nats://HOST:4222"` to [key-value.{grant.name}] or '
                    "deploy the app to a lattice"
                )


def _check_url(reader: Reader, where: Path_, url: str) -> str:
    """`url` if it is a NATS URL (`nats://` or `tls://`, as `--nats` takes); else refused."""
    from wasmesh.lattice.connection import check_url
    from wasmesh.lattice.errors import LatticeError

    try:
        return check_url(url)
    except LatticeError as exc:
        raise reader.fail(where, str(exc).rstrip(".")) from None


def _check_name(reader: Reader, where: Path_, name: str, what: str) -> None:
    if not _STORE_NAME.match(name):
        raise reader.fail(
            where,
            f"{what} is named `{name}`; a store name is lowercase letters, digits, `-` and `_`",
        )
