"""Mutated manifests: every one is read or refused in one sentence, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmesh.compose.manifest import load_manifest, parse_manifest
from wasmesh.errors import ManifestError

BASE = """\
[app]
name = "shop"
version = "0.1.0"

[components.front]
source = "front"
language = "python"
world = "front"
wit = "front/wit"
env = { CURRENCY = "EUR" }
dirs = ["data:/data:ro"]
memory-limit = "64MiB"

[components.tax]
source = "tax.wasm"

[wiring]
"front.shop:tax/rates" = "tax"

[[triggers.http]]
route = "/quote/..."
component = "front"

[deploy]
units = { a = ["front"], b = ["tax"] }
"""
LINES = BASE.splitlines()

# Values the issue list and earlier fuzzing found hostile.
NASTY = [
    "\\u0000", "a\\u0000b", "x" * 5000, "/" * 300, "\\uFFFF", "é" * 200, "../../..", "",
    "[", "]", "{", '"', "'", "=", ".", "#", "\\", "\\\\u12",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["dup", "drop", "value", "text", "swap"]))
        if op == "dup":
            lines.insert(at, lines[at])
        elif op == "drop" and len(lines) > 1:
            del lines[at]
        elif op == "value" and "=" in lines[at]:
            key = lines[at].split("=", 1)[0]
            piece = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=40)))
            quote = draw(st.sampled_from(['"{}"', "{}", "'{}'", "[{}]", '["{}"]']))
            lines[at] = f"{key}= {quote.format(piece)}"
        elif op == "text":
            lines.insert(at, draw(st.text(max_size=30)))
        elif op == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines) + "\n"


def one_sentence(error: ManifestError) -> None:
    message = str(error)
    assert message.startswith("wasmesh.toml"), message
    assert "\n" not in message and "Traceback" not in message, message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated())
def test_mutated_manifests_read_or_refused_in_one_sentence(text: str) -> None:
    try:
        parse_manifest(text, Path("/tmp/wasmesh-fuzz/wasmesh.toml"))
    except ManifestError as error:
        one_sentence(error)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[app]\nname = "a"\nname = "b"\n', 3, "already exists"),
        ('[app]\nname = "a"\n[components.x]\nsource = "x.wasm"\n[components.x]\n', 5, "already"),
        ('[app]\nname = "a"\n[components.x]\nsource = "' + "s" * 5000 + '.wasm"\n', 4, "too long"),
        ('[app]\nname = "a"\n[components.x]\nsource = "a\\u0000b.wasm"\n', 4, "NUL"),
        ('[app]\nname = "a\\u0000"\n[components.x]\nsource = "x.wasm"\n', 2, "NUL"),
    ],
)
def test_hostile_manifests_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    (tmp_path / "wasmesh.toml").write_text(text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    one_sentence(caught.value)
    assert str(caught.value).startswith(f"wasmesh.toml:{line}:") and words in str(caught.value)
