"""The manifest's messaging keys: a component's subject grant and `[[triggers.messaging]]`."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.compose.manifest import parse_manifest
from wasmesh.errors import ManifestError
from wasmesh.policy import Policy

APP = """\
[app]
name = "shop"

[components.orders]
source = "orders.wasm"
messaging = ["orders.>", "audit.*"]

[[triggers.messaging]]
subject = "orders.*"
component = "orders"
queue-group = "workers"
durable = true
max-deliver = 3
"""


def test_grant_and_trigger_are_read() -> None:
    manifest = parse_manifest(APP, Path("wasmesh.toml"))
    policy = manifest.component("orders").policy
    assert policy.grants.messaging == ("orders.>", "audit.*")
    (trigger,) = manifest.triggers
    assert (trigger.kind, trigger.address, trigger.component) == ("messaging", "orders.*", "orders")
    assert trigger.option("queue-group") == "workers"
    assert trigger.option("durable") is True and trigger.option("max-deliver") == 3
    # the policy carries the grant whole through the lattice's desired state
    assert Policy.from_json(policy.to_json()) == policy


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '"orders.>", "audit.*"',
            '"orders.>.x"',
            "wasmesh.toml:6: messaging grant: pattern `orders.>.x`: `>` may only be the last "
            "token; fix the pattern",
        ),
        (
            'subject = "orders.*"',
            'subject = "orders..x"',
            "wasmesh.toml:9: subject `orders..x` has an empty token (two dots or an end dot); "
            "fix the subject",
        ),
        (
            'queue-group = "workers"',
            'queue-group = "a.b"',
            "wasmesh.toml:11: queue group `a.b` must be one token (no dots, wildcards or spaces)",
        ),
        (
            "durable = true",
            'durable = "yes"',
            "wasmesh.toml:12: `durable` in [triggers.messaging] must be true or false, not str",
        ),
        (
            "durable = true\n",
            "",
            "wasmesh.toml:12: `max-deliver` applies to `durable = true`; add it",
        ),
        (
            "max-deliver = 3",
            "max-deliver = 0",
            "wasmesh.toml:13: `max-deliver` must be at least 1",
        ),
        (
            'subject = "orders.*"\n',
            "",
            "wasmesh.toml:8: [[triggers.messaging]] needs `subject`; add it",
        ),
    ],
)
def test_bad_messaging_keys_name_the_line_and_the_fix(old: str, new: str, message: str) -> None:
    assert old in APP
    with pytest.raises(ManifestError) as info:
        parse_manifest(APP.replace(old, new), Path("wasmesh.toml"))
    assert str(info.value) == message


def test_a_repeated_trigger_table_is_refused_naming_both_lines() -> None:
    text = APP + APP[APP.index("[[triggers.messaging]]") :]
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, Path("wasmesh.toml"))
    assert str(info.value) == (
        "wasmesh.toml:14: [[triggers.messaging]] repeats the table at line 8 (same subject, "
        "component and options), so each message would be handled twice; remove one"
    )
    # the same subject in another queue group is another subscription: accepted
    other = text.replace('queue-group = "workers"', 'queue-group = "audit"', 1)
    assert len(parse_manifest(other, Path("wasmesh.toml")).triggers) == 2
