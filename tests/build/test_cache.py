"""The content-hash cache: keys follow contents and recipes, not locations."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from wasmesh.build import cache
from wasmesh.errors import BuildError


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _key(root: Path, recipe: dict[str, object] | None = None) -> str:
    return cache.compute_key(cache.InputSet({"src": root}), recipe or {"world": "w"})


def test_same_contents_elsewhere_same_key(tmp_path: Path) -> None:
    a = _tree(tmp_path / "a", {"x.c": "int x;", "wit/w.wit": "package a:b;"})
    b = _tree(tmp_path / "b", {"x.c": "int x;", "wit/w.wit": "package a:b;"})
    assert _key(a) == _key(b)


def test_any_change_changes_the_key(tmp_path: Path) -> None:
    root = _tree(tmp_path / "a", {"x.c": "int x;", "wit/w.wit": "package a:b;"})
    before = _key(root)
    (root / "wit" / "w.wit").write_text("package a:c;")
    assert _key(root) != before
    after_wit = _key(root)
    (root / "x.c").rename(root / "y.c")
    assert _key(root) != after_wit, "a renamed file is a different input"
    assert _key(root, {"world": "other"}) != _key(root), "the recipe is part of the key"


def test_caches_and_outputs_are_not_inputs(tmp_path: Path) -> None:
    root = _tree(tmp_path / "a", {"app.py": "x = 1"})
    before = _key(root)
    _tree(root, {"__pycache__/app.cpython-311.pyc": "junk", "out.wasm": "bin", ".hidden": "x"})
    assert _key(root) == before


def test_editor_backups_and_swap_files_are_not_inputs(tmp_path: Path) -> None:
    root = _tree(tmp_path / "a", {"app.py": "x = 1"})
    before = _key(root)
    saved = {"app.py~": "x = 0", "app.py.swp": "vim", "app.py.swo": "vim", "#app.py#": "emacs",
             "app.py___jb_tmp___": "idea", "app.py.save": "nano"}  # fmt: skip
    _tree(root, saved)
    assert _key(root) == before
    assert not any(cache.is_input(root / name, root) for name in saved)  # so watch ignores them
    assert cache.is_input(root / "app.py", root)


def test_fresh_only_with_matching_key(tmp_path: Path) -> None:
    out = tmp_path / "c.wasm"
    assert not cache.is_fresh(out, "k1")
    out.write_bytes(b"\0asm")
    assert not cache.is_fresh(out, "k1"), "an output without a recorded key is stale"
    cache.record(out, "k1")
    assert cache.is_fresh(out, "k1")
    assert not cache.is_fresh(out, "k2")
    out.unlink()
    assert not cache.is_fresh(out, "k1"), "a recorded key without its output is stale"


def test_exclusive_serializes_builders(tmp_path: Path) -> None:
    out = tmp_path / "c.wasm"
    inside: list[int] = []
    overlaps: list[bool] = []

    def builder() -> None:
        with cache.exclusive(out):
            overlaps.append(bool(inside))
            inside.append(1)
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=builder) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [False, False, False]


def test_unreadable_input_is_one_sentence_naming_the_file(tmp_path: Path) -> None:
    root = _tree(tmp_path / "a", {"x.c": "int x;"})
    (root / "gone.h").symlink_to(root / "missing.h")
    with pytest.raises(BuildError) as caught:
        _key(root)
    message = str(caught.value)
    assert "gone.h" in message and "missing file" in message and "\n" not in message
