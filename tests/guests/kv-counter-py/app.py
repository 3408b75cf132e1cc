"""A key-value app on `wasi:keyvalue@0.2.0-draft2`: every store operation, by export or HTTP.

`exec(store, op, key, value)` and `GET [/PREFIX]/<op>/<store>/<key>?value=V` run one operation:
`get`, `set` (value), `delete`, `exists`, `keys` (every key, pages followed), `incr` (delta,
default 1), `cas` (swap in value if nobody wrote between read and swap: `swapped` or
`cas-failed <current>`), `getmany`/`deletemany` (key is `a,b,c`), `setmany` (value is
`v1,v2,...` for the keys), `loopget`/`loopset`/`loopincr` (that operation `value` times).
HTTP answers 200 with the outcome, 403 for `access-denied`, 500 with the message for any other
store error.
"""

from urllib.parse import parse_qs, unquote

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import atomics, batch, store
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


def describe(error: object) -> str:
    if isinstance(error, store.Error_AccessDenied):
        return "access-denied"
    if isinstance(error, store.Error_NoSuchStore):
        return "no-such-store"
    if isinstance(error, store.Error_Other):
        return f"other: {error.value}"
    return f"unexpected: {error!r}"


def show(value: bytes | None) -> str:
    return "none" if value is None else value.decode()


def run(name: str, op: str, key: str, value: str) -> str:
    bucket = store.open(name)
    if op == "get":
        return show(bucket.get(key))
    if op == "set":
        bucket.set(key, value.encode())
        return "ok"
    if op == "delete":
        bucket.delete(key)
        return "ok"
    if op == "exists":
        return str(bucket.exists(key)).lower()
    if op == "keys":
        keys: list[str] = []
        cursor = None
        while True:
            page = bucket.list_keys(cursor)
            keys += page.keys
            cursor = page.cursor
            if cursor is None:
                return ",".join(keys)
    if op == "incr":
        return str(atomics.increment(bucket, key, int(value or "1")))
    if op == "cas":
        cas = atomics.Cas.new(bucket, key)
        cas.current()
        try:
            atomics.swap(cas, value.encode())
        except Err as e:
            if isinstance(e.value, atomics.CasError_CasFailed):
                return f"cas-failed {show(e.value.value.current())}"
            raise Err(e.value.value) from None
        return "swapped"
    if op == "casrace":  # read, let someone else write, then swap: must fail
        cas = atomics.Cas.new(bucket, key)
        bucket.set(key, b"meddled")
        try:
            atomics.swap(cas, value.encode())
        except Err as e:
            if isinstance(e.value, atomics.CasError_CasFailed):
                return f"cas-failed {show(e.value.value.current())}"
            raise Err(e.value.value) from None
        return "swapped"
    if op.startswith("loop"):  # `value` times the same operation, for bench/keyvalue.py
        for _ in range(int(value)):
            if op == "loopget":
                bucket.get(key)
            elif op == "loopset":
                bucket.set(key, b"x" * 64)
            else:
                atomics.increment(bucket, key, 1)
        return value
    if op == "getmany":
        pairs = batch.get_many(bucket, key.split(","))
        return ";".join(f"{k}={show(v)}" for k, v in pairs)
    if op == "setmany":
        values = [v.encode() for v in value.split(",")]
        batch.set_many(bucket, list(zip(key.split(","), values, strict=True)))
        return "ok"
    if op == "deletemany":
        batch.delete_many(bucket, key.split(","))
        return "ok"
    return f"unknown op {op}"


class Ops(exports.Ops):
    def exec(self, store: str, op: str, key: str, value: str) -> str:
        try:
            return run(store, op, key, value)
        except Err as e:
            raise Err(describe(e.value)) from None


def respond(out: ResponseOutparam, status: int, body: bytes) -> None:
    headers = [("content-type", b"text/plain"), ("content-length", str(len(body)).encode())]
    response = OutgoingResponse(Fields.from_list(headers))
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    stream.blocking_write_and_flush(body)
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path, _, query = (request.path_with_query() or "/").partition("?")
        parts = [unquote(p) for p in path.strip("/").split("/")][-3:]  # after any route prefix
        if len(parts) != 3:
            respond(response_out, 404, b"GET /<op>/<store>/<key>[?value=V]\n")
            return
        value = parse_qs(query).get("value", [""])[0]
        try:
            respond(response_out, 200, run(parts[1], parts[0], parts[2], value).encode())
        except Err as e:
            said = describe(e.value)
            respond(response_out, 403 if said == "access-denied" else 500, said.encode())
