"""Canonical ABI flattening, as the shell's forwarders rely on it."""

from __future__ import annotations

from wasmesh.compose.flat import core_signatures, flatten
from wasmesh.engine.types import FuncSig, Param, WitType

U32, U64, F32, F64, STRING = (WitType(k) for k in ("u32", "u64", "f32", "f64", "string"))


def test_flatten() -> None:
    assert flatten(STRING) == ["i32", "i32"]
    assert flatten(WitType("record", fields=(("a", U64), ("b", STRING)))) == ["i64", "i32", "i32"]
    assert flatten(WitType("option", element=STRING)) == ["i32", "i32", "i32"]
    # variant payloads share slots, widened where they disagree
    assert flatten(WitType("result", ok=F32, err=U32)) == ["i32", "i32"]
    assert flatten(WitType("variant", cases=(("a", F64), ("b", U32), ("c", None)))) == [
        "i32", "i64",
    ]  # fmt: skip
    assert flatten(WitType("flags", names=tuple(f"f{i}" for i in range(33)))) == ["i32", "i32"]


def test_core_signatures() -> None:
    small = core_signatures(FuncSig((Param("a", U32), Param("b", U32)), U32))
    assert small.lowered == small.lifted == (("i32", "i32"), ("i32",))
    spilled = core_signatures(FuncSig((Param("s", STRING),), WitType("option", element=STRING)))
    assert spilled.lowered == (("i32", "i32", "i32"), ())
    assert spilled.lifted == (("i32", "i32"), ("i32",))
    many = core_signatures(FuncSig(tuple(Param(f"p{i}", U64) for i in range(17)), None))
    assert many.lowered == many.lifted == (("i32",), ())
