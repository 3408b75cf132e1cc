"""Sizes as people write them in wasmesh.toml and on the command line."""

from __future__ import annotations

import pytest

from wasmesh.sizes import format_size, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64MiB", 64 * 2**20),
        ("1G", 10**9),
        ("1GiB", 2**30),
        ("512k", 512_000),
        ("512Ki", 512 * 1024),
        ("1.5MiB", 3 * 2**19),
        ("4096", 4096),
        (65536, 65536),
        ("10 MB", 10**7),
    ],
)
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["64 parsecs", "", "-1", "MiB", True, 0, "0"])
def test_not_sizes(text: str | bool) -> None:
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


def test_format_size() -> None:
    assert [format_size(n) for n in (512, 2048, 64 * 2**20, 3 * 2**29)] == [
        "512B", "2KiB", "64MiB", "1.5GiB",
    ]  # fmt: skip
