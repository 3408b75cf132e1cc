"""Give the WASI adapter memory that Go's runtime never touches: ``cabi_realloc_adapter``.

The preview1 adapter allocates its state with the main module's realloc on its first WASI call,
which for Go happens while the runtime is still starting, when no ``//go:wasmexport`` function
may run. wit-component hands the adapter ``cabi_realloc_adapter`` instead of ``cabi_realloc``
when the module exports it, and memory.grow is no way out either: Go's heap assumes every page
past its own break is free. So the generated Go code reserves an arena (a package variable
starting with `MARKER`), and this module appends to the core module a bump allocator over it,
exported as ``cabi_realloc_adapter``: a global, a function and an export, found by the binary
format (WebAssembly core spec, section 5), nothing else renumbered.
"""

from __future__ import annotations

from wasmesh.build.witabi import WitError

MARKER = bytes([0x9E, 0x37, 0x79, 0xB9, *b"wm-arena", 0x5A, 0xC3, 0x11, 0xF0])
ARENA_SIZE = 256 * 1024

_TYPE, _IMPORT, _FUNC, _GLOBAL, _EXPORT, _CODE, _DATA = 1, 2, 3, 6, 7, 10, 11
I32 = 0x7F


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        done = (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _sections(wasm: bytes) -> list[tuple[int, bytes]]:
    pos, out = 8, []
    while pos < len(wasm):
        sid = wasm[pos]
        size, start = _read_uleb(wasm, pos + 1)
        out.append((sid, wasm[start : start + size]))
        pos = start + size
    return out


def _count(body: bytes) -> tuple[int, int]:
    return _read_uleb(body, 0)


def _append(body: bytes, item: bytes) -> bytes:
    n, pos = _count(body)
    return uleb(n + 1) + body[pos:] + item


def _imports(body: bytes) -> tuple[int, int]:
    """(imported functions, imported globals) of an import section."""
    n, pos = _count(body)
    funcs = globs = 0
    for _ in range(n):
        for _ in range(2):  # module and field names
            length, pos = _read_uleb(body, pos)
            pos += length
        kind = body[pos]
        pos += 1
        if kind == 0:
            _, pos = _read_uleb(body, pos)
            funcs += 1
        elif kind == 1:
            pos += 1
            flags, pos = _read_uleb(body, pos + 0)
            pos = _skip_limits_rest(body, pos, flags)
        elif kind == 2:
            flags, pos = _read_uleb(body, pos)
            pos = _skip_limits_rest(body, pos, flags)
        elif kind == 3:
            pos += 2
            globs += 1
        else:
            raise WitError(f"the Go module imports something of kind {kind}; cannot add the arena")
    return funcs, globs


def _skip_limits_rest(body: bytes, pos: int, flags: int) -> int:
    _, pos = _read_uleb(body, pos)
    if flags & 1:
        _, pos = _read_uleb(body, pos)
    return pos


def find_marker(wasm: bytes) -> int:
    """The linear-memory address of `MARKER` in the module's active data segments."""
    for sid, body in _sections(wasm):
        if sid != _DATA:
            continue
        n, pos = _count(body)
        for _ in range(n):
            mode, pos = _read_uleb(body, pos)
            if mode != 0 or body[pos] != 0x41:
                raise WitError("the Go module has a data segment of an unexpected form")
            offset, pos = _read_sleb(body, pos + 1)
            pos += 1  # end
            size, pos = _read_uleb(body, pos)
            found = body.find(MARKER, pos, pos + size)
            if found >= 0:
                return offset + found - pos
            pos += size
    raise WitError("the Go module has no adapter arena; is cabi_runtime.go part of the build?")


def _read_sleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos


def add_adapter_realloc(wasm: bytes) -> bytes:
    """``wasm`` with ``cabi_realloc_adapter`` bump-allocating from the Go arena."""
    start = find_marker(wasm) + len(MARKER)
    end = start - len(MARKER) + ARENA_SIZE
    sections = _sections(wasm)
    ids = [sid for sid, _ in sections]
    for needed in (_TYPE, _FUNC, _GLOBAL, _EXPORT, _CODE):
        if needed not in ids:
            raise WitError(f"the Go module has no section {needed}; cannot add the arena")
    body = dict(sections)
    imported_funcs, imported_globals = _imports(body[_IMPORT]) if _IMPORT in body else (0, 0)
    type_index = _count(body[_TYPE])[0]
    func_index = imported_funcs + _count(body[_FUNC])[0]
    global_index = imported_globals + _count(body[_GLOBAL])[0]
    g = uleb(global_index)
    code = (
        # p = (next + align - 1) & -align
        b"\x23"
        + g
        + b"\x20\x02\x6a\x41\x01\x6b\x41\x00\x20\x02\x6b\x71\x21\x04"
        # if p + size > end: trap
        + b"\x20\x04\x20\x03\x6a\x41"
        + sleb(end)
        + b"\x4b\x04\x40\x00\x0b"
        # next = p + size
        + b"\x20\x04\x20\x03\x6a\x24"
        + g
        # if old: memory.copy(p, old, old_size)
        + b"\x20\x00\x04\x40\x20\x04\x20\x00\x20\x01\xfc\x0a\x00\x00\x0b"
        + b"\x20\x04\x0b"
    )
    func_body = b"\x01\x01\x7f" + code  # one local declaration: one i32
    name = b"cabi_realloc_adapter"
    replaced = {
        _TYPE: _append(body[_TYPE], b"\x60\x04" + bytes([I32] * 4) + b"\x01" + bytes([I32])),
        _FUNC: _append(body[_FUNC], uleb(type_index)),
        _GLOBAL: _append(body[_GLOBAL], bytes([I32, 1, 0x41]) + sleb(start) + b"\x0b"),
        _EXPORT: _append(body[_EXPORT], uleb(len(name)) + name + b"\x00" + uleb(func_index)),
        _CODE: _append(body[_CODE], uleb(len(func_body)) + func_body),
    }
    out = bytearray(wasm[:8])
    for sid, content in sections:
        content = replaced.get(sid, content)
        out += bytes([sid]) + uleb(len(content)) + content
    return bytes(out)
