"""WAVE, the WebAssembly Value Encoding: the text form of component values.

The notation `wasm-tools` and `wasmtime run --invoke` use: `{a: 1, b-c: "x"}`, `case(payload)`,
`{read, write}`, `some(x)` / `none`, `ok(x)` / `err(e)`, `(1, "a")`, `[1, 2]`, `'x'`, `nan`.
`format_wave` writes exactly what wasmtime's CLI prints for the same value; `parse_wave`
accepts the whole grammar (comments, `%`-escaped labels, flat `some` / `ok` payloads, omitted
`none` record fields, multi-line strings). `parse_call` splits `add(1, 2)` into the function
name and the text of each argument, as `wasmtime run --invoke` takes a call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from wasmesh.engine.codec._problem import Problem, handle_refusal
from wasmesh.engine.codec._wave_format import formatter, label
from wasmesh.engine.codec._wave_text import (
    KEYWORDS,
    Token,
    WaveSyntaxError,
    multiline,
    parse_f32,
    tokenize,
    unescape,
)
from wasmesh.engine.codec.check import build
from wasmesh.engine.types import INT_RANGES, Param, WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import WitValueError

__all__ = ["WaveSyntaxError", "format_wave", "parse_arguments", "parse_call", "parse_wave"]


def format_wave(value: Any, ty: WitType) -> str:
    """The WAVE text of `value` (normalized first, so lenient input is fine)."""
    try:
        normalized = build(ty)(value)
    except Problem as problem:
        raise problem.error() from None
    return formatter(ty)(normalized)


def parse_wave(text: str, ty: WitType) -> Any:
    """Parse WAVE `text` as a value of `ty`, in the canonical value model."""
    parser = _Parser(text)
    value = parser.value(ty)
    parser.expect_end()
    return value


_CALL = re.compile(r"\s*([^\s(),]+)\s*\((.*)\)\s*", re.DOTALL)


def parse_call(text: str) -> tuple[str, list[str]]:
    """Split `name(arg, ...)` into the name and the WAVE text of each argument."""
    m = _CALL.fullmatch(text)
    if m is None:
        raise WitValueError(f"{text!r} is not a call; write it as name(arg, ...), e.g. add(1, 2)")
    name, inner = m.group(1), m.group(2)
    offset = m.start(2)
    args: list[str] = []
    depth, start = 0, 0
    for token in tokenize(inner):
        if token.kind == "end" or (token.text == "," and depth == 0):
            arg = inner[start : token.start].strip()
            if not arg and (token.kind != "end" or args):
                if token.kind == "end":
                    break  # a trailing comma
                raise WaveSyntaxError(text, offset + token.start, "expected an argument")
            if arg:
                args.append(arg)
            start = token.start + 1
        elif token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            depth -= 1
            if depth < 0:
                raise WaveSyntaxError(text, offset + token.start, f"unmatched {token.text!r}")
    return name, args


def parse_arguments(texts: Sequence[str], params: Sequence[Param], func: str = "") -> list[Any]:
    """Parse one WAVE text per parameter; trailing option parameters may be left out (none)."""
    label = f"{func} takes" if func else "the function takes"
    names = ", ".join(p.name for p in params)
    if len(texts) > len(params):
        message = f"{label} {len(params)} arguments ({names}), got {len(texts)}"
        raise WitValueError(message)
    missing = [p.name for p in params[len(texts) :] if p.type.kind != "option"]
    if missing:
        message = f"{label} {len(params)} arguments ({names}); {', '.join(missing)} missing"
        raise WitValueError(message)
    values: list[Any] = []
    for param, text in zip(params, texts, strict=False):
        try:
            values.append(parse_wave(text, param.type))
        except WitValueError as exc:
            raise WitValueError(f'argument "{param.name}": {exc}') from None
    return values + [None] * (len(params) - len(texts))


_PARSED = frozenset(
    {"bool", "f32", "f64", "char", "string", "list", "tuple", "record", "variant", "enum",
     "flags", "option", "result"}
)  # fmt: skip


class _Parser:
    """Typed recursive descent over the token list."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, token: Token, expected: str) -> WaveSyntaxError:
        found = "the end of the text" if token.kind == "end" else repr(token.text)
        return WaveSyntaxError(self.text, token.start, f"expected {expected}, found {found}")

    def punct(self, symbol: str) -> None:
        token = self.take()
        if token.text != symbol or token.kind != "punct":
            raise self.fail(token, repr(symbol))

    def expect_end(self) -> None:
        if self.peek().kind != "end":
            raise self.fail(self.peek(), "the end of the value")

    def sequence(self, close: str, item: Callable[[], None]) -> None:
        """Comma-separated items up to `close`, a trailing comma allowed."""
        while not self.at(close):
            item()
            if not self.at(close):
                token = self.take()
                if token.text != "," or token.kind != "punct":
                    raise self.fail(token, f"',' or {close!r}")
        self.take()

    def at(self, symbol: str) -> bool:
        token = self.peek()
        return token.kind == "punct" and token.text == symbol

    def label(self, what: str) -> str:
        token = self.take()
        if token.kind != "label":
            raise self.fail(token, what)
        return token.text

    def value(self, ty: WitType) -> Any:
        kind = ty.kind
        if kind in INT_RANGES:
            return self._int(ty)
        method = getattr(self, "_" + kind, None) if kind in _PARSED else None
        if method is None:
            raise WitValueError(handle_refusal(kind, ty.resource, "text"))
        return method(ty)

    def _bool(self, ty: WitType) -> bool:
        token = self.take()
        if token.kind == "label" and token.text in ("true", "false"):
            return token.text == "true"
        raise self.fail(token, "true or false")

    def _int(self, ty: WitType) -> int:
        token = self.take()
        if token.kind != "number" or not re.fullmatch(r"-?[0-9]+", token.text):
            raise self.fail(token, f"an integer ({ty.kind})")
        value = int(token.text)
        lo, hi = INT_RANGES[ty.kind]
        if not lo <= value <= hi:
            message = f"{value} is out of range for {ty.kind} ({lo}..{hi})"
            raise WaveSyntaxError(self.text, token.start, message)
        return value

    def _f64(self, ty: WitType) -> float:
        token = self.take()
        if token.kind == "number" or (token.kind == "label" and token.text in ("nan", "inf")):
            return parse_f32(token.text) if ty.kind == "f32" else float(token.text)
        raise self.fail(token, f"a number ({ty.kind}), nan, inf or -inf")

    _f32 = _f64

    def _char(self, ty: WitType) -> str:
        token = self.take()
        if token.kind != "char":
            raise self.fail(token, "a char like 'x'")
        return unescape(token.text[1:-1], self.text, token.start + 1)

    def _string(self, ty: WitType) -> str:
        token = self.take()
        if token.kind == "string":
            return unescape(token.text[1:-1], self.text, token.start + 1)
        if token.kind == "mstring":
            return multiline(token.text, self.text, token.start)
        raise self.fail(token, 'a string like "text"')

    def _list(self, ty: WitType) -> Any:
        assert ty.element is not None
        element = ty.element
        items: list[Any] = []
        if not self.at("["):
            raise self.fail(self.peek(), "a list like [...]")
        self.take()
        self.sequence("]", lambda: items.append(self.value(element)))
        if ty.is_bytes:
            return bytes(items)
        return items

    def _tuple(self, ty: WitType) -> tuple[Any, ...]:
        items: list[Any] = []
        start = self.peek()
        self.punct("(")

        def item() -> None:
            if len(items) == len(ty.elements):
                raise self.fail(self.peek(), f"')' after {len(items)} elements")
            items.append(self.value(ty.elements[len(items)]))

        self.sequence(")", item)
        if len(items) != len(ty.elements):
            message = f"expected a tuple of {len(ty.elements)} elements, found {len(items)}"
            raise WaveSyntaxError(self.text, start.start, message)
        return tuple(items)

    def _record(self, ty: WitType) -> Record:
        start = self.peek()
        self.punct("{")
        types = dict(ty.fields)
        got: dict[str, Any] = {}
        if self.at(":"):
            self.take()
            self.punct("}")
        else:

            def entry() -> None:
                token = self.peek()
                name = self.label("a field name").removeprefix("%")
                if name not in types:
                    raise WaveSyntaxError(
                        self.text, token.start, f"the record has no field {name!r}"
                    )
                if name in got:
                    raise WaveSyntaxError(self.text, token.start, f"field {name!r} given twice")
                self.punct(":")
                got[name] = self.value(types[name])

            self.sequence("}", entry)
        out = Record()
        for name, t in ty.fields:
            if name not in got and t.kind != "option":
                message = f"the record needs field {name!r}, which is missing"
                raise WaveSyntaxError(self.text, start.start, message)
            out[name] = got.get(name)
        return out

    def _case(self, what: str, names: set[str] | dict[str, Any]) -> tuple[Token, str]:
        token = self.peek()
        raw = self.label(what)
        name = raw.removeprefix("%")
        if name not in names or (raw == name and name in KEYWORDS):
            raise self.fail(token, f"{what} ({', '.join(label(n) for n in names)})")
        return token, name

    def _variant(self, ty: WitType) -> Variant:
        cases = dict(ty.cases)
        _, name = self._case("a variant case", cases)
        payload = cases[name]
        if payload is None:
            return Variant(name)
        self.punct("(")
        value = self.value(payload)
        self.punct(")")
        return Variant(name, value)

    def _enum(self, ty: WitType) -> str:
        return self._case("an enum case", set(ty.names))[1]

    def _flags(self, ty: WitType) -> frozenset[str]:
        self.punct("{")
        names: set[str] = set()

        def flag() -> None:
            token = self.peek()
            name = self.label("a flag name").removeprefix("%")
            if name not in ty.names:
                message = f"no flag {name!r} (flags: {', '.join(ty.names)})"
                raise WaveSyntaxError(self.text, token.start, message)
            names.add(name)

        self.sequence("}", flag)
        return frozenset(names)

    def _keyword_payload(self, payload: WitType | None) -> Any:
        """After `some` / `ok` / `err`: the parenthesized payload, if the type has one."""
        if payload is None:
            if self.at("("):
                raise self.fail(self.peek(), "no payload")
            return None
        self.punct("(")
        value = self.value(payload)
        self.punct(")")
        return value

    def _option(self, ty: WitType) -> Any:
        assert ty.element is not None
        nested = ty.element.kind == "option"
        token = self.peek()
        if token.kind == "label" and token.text in ("some", "none"):
            self.take()
            if token.text == "none":
                return None
            value = self._keyword_payload(ty.element)
            return Some(value) if nested else value
        if ty.element.kind in ("option", "result"):
            raise self.fail(token, "some(...) or none")
        return self.value(ty.element)

    def _result(self, ty: WitType) -> Ok | Err:
        token = self.peek()
        if token.kind == "label" and token.text in ("ok", "err"):
            self.take()
            if token.text == "ok":
                return Ok(self._keyword_payload(ty.ok))
            return Err(self._keyword_payload(ty.err))
        if ty.ok is None or ty.ok.kind in ("option", "result"):
            raise self.fail(token, "ok(...) or err(...)" if ty.ok else "ok or err")
        return Ok(self.value(ty.ok))
