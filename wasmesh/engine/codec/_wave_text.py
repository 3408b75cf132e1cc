"""The lexical layer of WAVE: tokens, string escapes and number spelling.

Spelling follows wasm-wave's writer (used by `wasmtime run --invoke`) exactly: floats as Rust's
`Display` prints them (shortest round-trip digits, never an exponent), characters escaped as
Rust's `char::escape_default` / `escape_unicode` / `escape_debug` do.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Context, Decimal

from wasmesh.engine.codec._wave_escapes import escaped
from wasmesh.errors import WitValueError

KEYWORDS = frozenset({"true", "false", "some", "none", "ok", "err", "inf", "nan"})

_ESCAPE = r"""\\['"tnr\\]|\\u\{[0-9a-fA-F]{1,6}\}"""
_TOKEN = re.compile(
    rf"""
    (?P<skip>(?:[ \t\n\r]+|//[^\n]*)+)
    | (?P<punct>[{{}}()\[\]:,])
    | (?P<number>-inf|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
    | (?P<label>%?(?:[a-z][a-z0-9]*|[A-Z][A-Z0-9]*)(?:-(?:[a-z0-9]+|[A-Z0-9]+))*)
    | (?P<char>'(?:[^\\'\n]|{_ESCAPE})')
    | (?P<mstring>\"\"\"(?:.|\n)*?\"\"\")
    | (?P<string>"(?:[^\\"\n]|{_ESCAPE})*")
    """,
    re.VERBOSE,
)
_UNESCAPE = re.compile(_ESCAPE)
_SIMPLE_UNESCAPES = {"\\'": "'", '\\"': '"', "\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}


@dataclass(frozen=True)
class Token:
    kind: str  # punct (text is the symbol), number, label, char, string, mstring, end
    text: str
    start: int


def tokenize(text: str) -> list[Token]:
    """Split WAVE text into tokens; the list always ends with an `end` token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise WaveSyntaxError(text, pos, f"unexpected {text[pos]!r}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "skip":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class WaveSyntaxError(WitValueError):
    """WAVE text that does not parse; the message names the position and what was expected."""

    def __init__(self, text: str, pos: int, message: str) -> None:
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        where = f"line {line}, column {column}" if "\n" in text else f"column {column}"
        super().__init__(f"invalid WAVE value at {where}: {message}")
        self.pos = pos


def unescape(body: str, text: str, start: int) -> str:
    """Decode the escapes in the inside of a char or string literal."""

    def one(m: re.Match[str]) -> str:
        esc = m.group()
        if esc in _SIMPLE_UNESCAPES:
            return _SIMPLE_UNESCAPES[esc]
        code = int(esc[3:-1], 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise WaveSyntaxError(text, start + m.start(), f"{esc} is not a Unicode scalar value")
        return chr(code)

    return _UNESCAPE.sub(one, body) if "\\" in body else body


def multiline(token: str, text: str, start: int) -> str:
    """Decode a `\"\"\"` string: drop the first line break, dedent by the closing line's indent."""
    inner = token[3:-3]
    if not inner.startswith(("\n", "\r\n")):
        raise WaveSyntaxError(text, start, 'a """ string must start with a line break')
    inner = inner[1:] if inner[0] == "\n" else inner[2:]
    last_break = inner.rfind("\n")
    if last_break < 0 or inner[last_break + 1 :].strip(" "):
        raise WaveSyntaxError(text, start, 'the closing """ must be on its own line')
    indent = len(inner) - last_break - 1
    lines = inner[:last_break].removesuffix("\r").split("\n")
    out = []
    for line in lines:
        line = line.removesuffix("\r")
        if line[:indent].strip(" "):
            raise WaveSyntaxError(text, start, f"a line is indented less than {indent} spaces")
        out.append(line[indent:])
    return unescape("\n".join(out), text, start)


# -- writing --

_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "'": "\\'", "\t": "\\t", "\r": "\\r", "\n": "\\n"}
_NEEDS_LOOK = re.compile(r"""[\\"'\t\r\n]|[^\x20-\x7e]""")


def _escape_one(m: re.Match[str]) -> str:
    ch = m.group()
    simple = _SIMPLE_ESCAPES.get(ch)
    if simple is not None:
        return simple
    code = ord(ch)
    return f"\\u{{{code:x}}}" if escaped(code) else ch


def escape(text: str) -> str:
    """Escape a string or char body the way wasm-wave writes it."""
    return _NEEDS_LOOK.sub(_escape_one, text)


_F32 = struct.Struct("<f")
_WIDE = Context(prec=800)  # exact arithmetic on the decimal expansion of any double


def to_f32(x: float) -> float:
    """Round to the nearest f32 (overflow goes to infinity, as a component would see it)."""
    try:
        return float(_F32.unpack(_F32.pack(x))[0])
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


_U32 = struct.Struct("<I")


def parse_f32(text: str) -> float:
    """The f32 nearest to decimal `text`, ties to even, as Rust's `str::parse::<f32>`.

    Going through a double first can round twice; the exact decimal settles the few cases.
    """
    approx = to_f32(float(text))
    if approx == 0 or not math.isfinite(approx):
        return approx
    exact = Decimal(text)
    bits = _U32.unpack(_F32.pack(approx))[0]
    best = approx
    for other_bits in (bits - 1, bits + 1):
        other = float(_F32.unpack(_U32.pack(other_bits))[0])
        if not math.isfinite(other) or (other < 0) != (approx < 0):
            continue
        gap, best_gap = (
            _WIDE.abs(_WIDE.subtract(Decimal(other), exact)),
            _WIDE.abs(_WIDE.subtract(Decimal(best), exact)),
        )
        if gap < best_gap or (gap == best_gap and other_bits % 2 == 0):
            best = other
    return best


def format_float(x: float, f32: bool) -> str:
    """Rust `Display` for f32/f64: shortest round-trip digits, plain positional notation.

    Among the shortest digit strings that read back as `x` Rust picks the closest, a tie going
    away from zero; Python's own formatting rounds ties to even and picks the nearest p-digit
    number even where that one does not read back, so it cannot be used.
    """
    if f32:
        x = to_f32(x)
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    exact = Decimal(x)
    if f32:
        precisions: range = range(1, 10)
    else:
        shortest = len(repr(x).split("e")[0].lstrip("-").replace(".", "").strip("0")) or 1
        precisions = range(shortest, 18)
    digits = exact
    for precision in precisions:
        # The two p-digit neighbours of x; the nearer one may fall outside the rounding
        # interval where it is lopsided (at powers of two) while the farther one is inside.
        down = Context(prec=precision, rounding=ROUND_DOWN).plus(exact)
        up = Context(prec=precision, rounding=ROUND_UP).plus(exact)
        fits = [d for d in (up, down) if (to_f32(float(d)) if f32 else float(d)) == x]
        if fits:
            digits = min(fits, key=lambda d: _WIDE.abs(_WIDE.subtract(d, exact)))  # tie: `up`
            break
    return format(digits.normalize(Context(prec=40)), "f")
