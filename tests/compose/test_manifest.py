"""wasmesh.toml: typed data from good manifests, file:line and the fix for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.compose.manifest import MONOLITH_UNIT, Unit, load_manifest, parse_manifest
from wasmesh.errors import ManifestError
from wasmesh.policy import DirGrant

GOOD = """\
[app]
name = "shop"
version = "0.1.0"

[components.pricing]
source = "pricing"
language = "python"
world = "pricing"
env = { CURRENCY = "EUR" }
env-inherit = ["TZ"]
dirs = ["data:/data:ro"]
memory-limit = "64MiB"
timeout = 2.5
fuel = 1000000
outbound = ["https://*.example.com:443"]

[components.tax]
source = "tax.wasm"

[wiring]
"pricing.shop:tax/rates" = "tax"

[[triggers.http]]
route = "/quote/..."
component = "pricing"
"""

ROOT = Path("/srv/shop")


def parse(text: str) -> object:
    return parse_manifest(text, ROOT / "wasmesh.toml")


def test_a_full_manifest_reads_into_typed_data() -> None:
    m = parse_manifest(GOOD, ROOT / "wasmesh.toml")
    pricing = m.component("pricing")
    assert pricing.line == 5
    assert pricing.source.path == ROOT / "pricing"
    assert (pricing.source.language, pricing.source.world) == ("python", "pricing")
    g, limits = pricing.policy.grants, pricing.policy.limits
    assert g.env == (("CURRENCY", "EUR"),) and g.env_inherit == ("TZ",)
    assert g.dirs == (DirGrant((ROOT / "data").resolve(), "/data", writable=False),)
    assert (limits.memory_bytes, limits.timeout, limits.fuel) == (64 * 1024 * 1024, 2.5, 1000000)
    assert g.outbound == ("https://*.example.com:443",)
    assert m.component("tax").source.is_prebuilt
    (rule,) = m.wiring
    assert (rule.consumer, rule.import_name, rule.provider, rule.line) == (
        "pricing", "shop:tax/rates", "tax", 21,
    )  # fmt: skip
    assert [(t.route, t.component) for t in m.http_triggers] == [("/quote/...", "pricing")]
    assert m.units == (Unit(MONOLITH_UNIT, ("pricing", "tax")),)


def test_per_component_and_explicit_units() -> None:
    per = parse(GOOD + '\n[deploy]\nstrategy = "per-component"\n')
    assert per.units == (Unit("pricing", ("pricing",)), Unit("tax", ("tax",)))  # type: ignore[attr-defined]
    split = parse(GOOD + '\n[deploy]\nunits = { front = ["pricing"], back = ["tax"] }\n')
    assert split.units == (Unit("front", ("pricing",)), Unit("back", ("tax",)))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("memory-limit", "memory_limit"),
            "wasmesh.toml:12: unknown key `memory_limit` in [components.pricing]; "
            "did you mean `memory-limit`?",
        ),
        (
            ('"64MiB"', '"64 parsecs"'),
            "wasmesh.toml:12: '64 parsecs' is not a size; write bytes or a number with a unit "
            "(B, KiB, MiB, GiB, K, M, G), like 64MiB",
        ),
        (
            ("timeout = 2.5", 'timeout = "soon"'),
            "wasmesh.toml:13: `timeout` in [components.pricing] must be seconds, not str",
        ),
        (
            ('CURRENCY = "EUR"', "CURRENCY = 978"),
            "wasmesh.toml:9: `CURRENCY` in [components.pricing.env] must be a string, not int",
        ),
        (
            ('= "tax"\n', '= "taks"\n'),
            "wasmesh.toml:21: no component named `taks`; did you mean `tax`?",
        ),
        (
            ('component = "pricing"', 'component = "ledger"'),
            "wasmesh.toml:25: no component named `ledger`; components: pricing, tax",
        ),
        (
            (
                "[[triggers.http]]",
                '[[triggers.mqtt]]\ntopic = "shop.quote"\n\n[[triggers.http]]',
            ),
            "wasmesh.toml:23: [[triggers.mqtt]] is not a trigger this wasmesh has (it has: "
            "http, messaging, cron); remove the table",
        ),
        (
            ('route = "/quote/..."', 'path = "/quote/..."'),
            "wasmesh.toml:24: unknown key `path` in [triggers.http]; known keys: route, component",
        ),
        (
            ('language = "python"', 'language = "cobol"'),
            "wasmesh.toml:7: unknown language `cobol`; use one of python, js, c, wat, go, rust",
        ),
        (
            ('source = "tax.wasm"', 'source = "tax"'),
            "wasmesh.toml:18: `source` of [components.tax] is not a .wasm file; add "
            '`language = "python"|"js"|"c"|"wat"` to build it from source',
        ),
        (
            ('"data:/data:ro"', '"data"'),
            'wasmesh.toml:11: dir grant `data` must be "host:guest" or "host:guest:ro"/'
            '"host:guest:rw"',
        ),
        (
            ("[app]", "[ap"),
            "wasmesh.toml:1: not valid TOML (Unexpected character: '\\n'); fix the syntax",
        ),
    ],
    ids=[
        "typo-key",
        "bad-size",
        "bad-type",
        "env-type",
        "dangling-wiring",
        "dangling-trigger",
        "trigger-kind-missing",
        "trigger-key",
        "language",
        "prebuilt-not-wasm",
        "dir-grant",
        "syntax",
    ],
)
def test_errors_name_the_line_and_the_fix(edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert old in GOOD
    with pytest.raises(ManifestError) as err:
        parse(GOOD.replace(old, new, 1))
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        (
            'units = { front = ["pricing"] }',
            "wasmesh.toml:28: component `tax` is in no unit; add it to one of [deploy] units",
        ),
        (
            'units = { front = ["pricing", "tax"], back = ["tax"] }',
            "wasmesh.toml:28: component `tax` is in units `front` and `back`; keep it in one",
        ),
        (
            'strategy = "microservices"',
            'wasmesh.toml:28: unknown strategy `microservices`; use "monolith", '
            '"per-component" or `units`',
        ),
    ],
    ids=["unplaced", "placed-twice", "strategy"],
)
def test_deploy_errors(deploy: str, message: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse(GOOD + f"\n[deploy]\n{deploy}\n")
    assert str(err.value) == message


def test_missing_file_and_directory_form(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"cannot read .*wasmesh.toml: No such file"):
        load_manifest(tmp_path)
    (tmp_path / "wasmesh.toml").write_text(GOOD)
    assert load_manifest(tmp_path).root == tmp_path


def test_a_component_file_given_for_a_manifest_is_one_sentence(tmp_path: Path) -> None:
    component = tmp_path / "echo.wasm"
    component.write_bytes(b"\x00asm\x0d\x00\x01\x00\xff\xfe")
    with pytest.raises(ManifestError, match=r"echo\.wasm is not a manifest \(it is not text\)"):
        load_manifest(component)
