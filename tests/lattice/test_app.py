"""The polyglot example deployed split across hosts: Python on one, C and JS units elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.engine.values import Err, Ok, Record, Variant
from wasmesh.lattice.app import Placement, topology_from_manifest
from wasmesh.lattice.server import NatsServer

from .conftest import admin, host, run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "polyglot" / "wasmesh.toml"  # built in its own .wasmesh, like the CLI
QUOTE = "shop:pricing/quote@0.1.0#quote"
ITEMS = [
    Record({"sku": "tea", "quantity": 3, "unit-cents": 450}),
    Record({"sku": "cup", "quantity": 8, "unit-cents": 1299}),
]

pytestmark = pytest.mark.slow


def test_the_example_split_over_hosts_answers_like_fused(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    where = {"front": Placement(labels={"lang": "python"})}
    app, topology = topology_from_manifest(EXAMPLE, where, strategy="per-component")
    front = next(u for u in topology.units if u.name == "front")
    assert set(front.imports.values()) == {"tax", "presentation"}

    async def scenario() -> None:
        hosts = [
            host(nats_server, labels={"lang": "python"}, host_id="py", cache_dir=tmp_path / "a"),
            host(nats_server, host_id="other", cache_dir=tmp_path / "b"),
        ]
        try:
            for h in hosts:
                await h.start()
            async with admin(nats_server) as client:
                await client.deploy(app, topology)
                status = await client.wait_ready(app, 60)
                assert status.running("front") == ["py"]
                quote = await client.invoke(app, QUOTE, [ITEMS, "fr"])
                assert quote == Ok(
                    Record(
                        {
                            "subtotal-cents": 11742,
                            "discount-cents": 587,
                            "tax-cents": 2231,
                            "total-cents": 13386,
                            "summary": "11 items, €133.86 incl. tax",
                        }
                    )
                )
                assert await client.invoke(app, QUOTE, [ITEMS, "mars"]) == Err(
                    Variant("unknown-region", "mars")
                )
        finally:
            for h in hosts:
                await h.stop()

    run(scenario(), 120)
