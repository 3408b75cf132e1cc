"""wasi:config/store: a component reads the keys its policy grants, and no other."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import wasmesh
from tests.support.cli import wasmesh as wasmesh_cli
from wasmesh.api import Interface
from wasmesh.capabilities.config import ConfigError, resolve_on_host, substitute
from wasmesh.policy import SECRET_MASK, ConfigValue, Grants, Policy

PROBE = "test:config-py/probe@0.1.0"
SECRET = "hunter2-f00d"


@pytest.fixture(scope="module")
def reader(guest: Callable[[str], Path]) -> Path:
    """The componentize-py guest importing `wasi:config/store@0.2.0-draft-2024-09-27`."""
    return guest("config-py")


def probe_of(component: wasmesh.Component) -> Interface:
    probe = component.exports[PROBE]
    assert isinstance(probe, Interface)
    return probe


def granted(*pairs: tuple[str, str]) -> Grants:
    return Grants(config=tuple(ConfigValue.literal(k, v) for k, v in pairs))


def test_a_component_reads_its_granted_keys(reader: Path) -> None:
    probe = probe_of(wasmesh.load(reader, grants=granted(("greeting", "hi"), ("empty", ""))))
    assert probe.get("greeting") == "hi"
    assert probe.get("empty") == ""
    assert probe.all() == [("greeting", "hi"), ("empty", "")]


def test_a_key_not_granted_is_absent_not_an_error(reader: Path) -> None:
    probe = probe_of(wasmesh.load(reader, grants=granted(("greeting", "hi"))))
    assert probe.get("GREETING") is None
    assert probe.get("other") is None
    bare = probe_of(wasmesh.load(reader))  # deny by default: no config at all
    assert bare.get("greeting") is None
    assert bare.all() == []


def test_a_template_is_completed_from_the_hosts_variables(
    reader: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = ConfigValue("dsn", "pg://app:{{ password }}@db", None, secret=True)
    monkeypatch.delenv("WASMESH_VAR_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=r"variable `password`.*WASMESH_VAR_PASSWORD"):
        wasmesh.load(reader, grants=Grants(config=(entry,)))
    monkeypatch.setenv("WASMESH_VAR_PASSWORD", SECRET)
    probe = probe_of(wasmesh.load(reader, grants=Grants(config=(entry,))))
    assert probe.get("dsn") == f"pg://app:{SECRET}@db"


def test_resolve_on_host_and_substitute() -> None:
    assert substitute("{{a}}-{{ b }}-{{ c }}", {"a": "1", "b": "2"}) == "1-2-{{ c }}"
    entry = ConfigValue("k", "{{ x }}/{{ y }}", None)
    assert resolve_on_host(entry, {"WASMESH_VAR_X": "1", "WASMESH_VAR_Y": "2"}) == "1/2"
    assert resolve_on_host(ConfigValue("k", "t", "v")) == "v"


def test_a_secret_is_masked_and_never_serialised() -> None:
    entry = ConfigValue("dsn", "pg://app:{{ password }}@db", f"pg://app:{SECRET}@db", True)
    plain = ConfigValue("greeting", "{{ greeting }}", "hello", False)
    policy = Policy(Grants(config=(entry, plain)))
    assert SECRET not in repr(policy) and SECRET not in str(entry)
    assert entry.shown == SECRET_MASK
    body = json.dumps(policy.to_json())
    assert SECRET not in body
    back = Policy.from_json(json.loads(body))
    assert back.grants.config[0] == ConfigValue("dsn", "pg://app:{{ password }}@db", None, True)
    assert (back.grants.config[1].value, back.grants.config[1].secret) == ("hello", False)


def test_the_config_flag_grants_keys_to_one_component(reader: Path) -> None:
    got = wasmesh_cli("invoke", reader, "--config", "a=1", "--config", "b=x=y", "all()")
    assert (got.code, got.out.strip()) == (0, '[("a", "1"), ("b", "x=y")]'), got.err
    assert wasmesh_cli("invoke", reader, 'get("a")').out.strip() == "none"
    bad = wasmesh_cli("invoke", reader, "--config", "novalue", 'get("a")')
    assert bad.code == 2 and "--config `novalue` is not KEY=VALUE" in bad.err
