"""The control-interface schema: subjects, buckets and versioned JSON documents."""

from __future__ import annotations

import json

import pytest

from wasmesh.lattice import schema
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.schema import AppIndex, DesiredState, HostAssignment, Subjects, UnitSpec


def test_subjects_live_under_one_prefix_and_escape_interface_names() -> None:
    s = Subjects("prod")
    assert s.heartbeat("h1") == "wasmesh.prod.heartbeat.h1"
    rpc = s.rpc("shop", "math", "wasi:keyvalue/store@0.2.0-draft")
    assert rpc == "wasmesh.prod.rpc.shop.math.wasi:keyvalue/store@0%2E2%2E0-draft"
    assert len(rpc.split(".")) == 6
    assert s.rpc("a", "b", "x.y") != s.rpc("a", "b", "x_y")
    assert s.apps == "wasmesh_prod_apps"


def test_names_that_cannot_be_subject_tokens_are_refused() -> None:
    with pytest.raises(LatticeError, match="letters, digits"):
        Subjects("my.lattice")
    with pytest.raises(LatticeError, match="app name"):
        schema.check_name("app", "a b")


def test_documents_round_trip_with_nested_units() -> None:
    unit = UnitSpec("math", "ab" * 32, 10, {"i": ["f"]}, {"j": "other"}, 2, {"zone": "a"}, "zone")
    desired = DesiredState("shop", 3, (unit,), source_version=1)
    assert schema.loads(DesiredState, schema.dumps(desired)) == desired
    assignment = HostAssignment("h1", {"shop": (unit,)})
    assert schema.loads(HostAssignment, schema.dumps(assignment)) == assignment
    index = AppIndex({"shop": 3, "old": 7}, ("shop",))
    assert schema.loads(AppIndex, schema.dumps(index)) == index


def test_a_newer_schema_is_refused_and_unknown_fields_ignored() -> None:
    body = json.loads(schema.dumps(DesiredState("shop", 1, ())))
    body["added_later"] = True
    assert schema.loads(DesiredState, json.dumps(body).encode()).version == 1
    body["schema"] = schema.SCHEMA_VERSION + 1
    with pytest.raises(LatticeError, match="upgrade wasmesh"):
        schema.loads(DesiredState, json.dumps(body).encode())
