"""The parity probe: one answer per question, whichever way it is asked.

Exported as `test:parity/probe`; as a command, `probe FUNC [ARG]` prints the answer as JSON;
over HTTP, `GET /ANY/PREFIX/FUNC?ARG` answers it as a JSON body. The `dep-*`, `grow` and `spin`
questions are passed to the dependency composed beside it; `config` reads a wasi:config key,
`store` opens a wasi:keyvalue store.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import Any
from urllib.parse import unquote

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import dep
from wit_world.imports import wasi_config_store as config
from wit_world.imports import wasi_keyvalue_store as keyvalue
from wit_world.imports.wasi_http_types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)


def read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def write(path: str) -> str:
    try:
        with open(path, "w") as f:
            f.write("overwritten")
        return "written"
    except OSError as e:
        return f"denied: {errno.errorcode.get(e.errno or 0, e.errno)}"


def open_store(name: str) -> str:
    try:
        keyvalue.open(name).__exit__(None, None, None)
        return "opened"
    except Err as e:
        error = e.value
        if isinstance(error, keyvalue.Error_AccessDenied):
            return "access-denied"
        if isinstance(error, keyvalue.Error_NoSuchStore):
            return "no-such-store"
        return f"other: {getattr(error, 'value', error)}"


QUESTIONS = {
    "env": lambda arg: os.environ.get(arg),
    "read": read,
    "write": write,
    "dep-env": dep.env,
    "dep-read": dep.read,
    "grow": lambda arg: dep.grow(),
    "spin": lambda arg: dep.spin(),
    "config": config.get,
    "store": open_store,
}


def answer(question: str, arg: str) -> Any:
    return QUESTIONS[question](arg)


class Probe(exports.Probe):
    def env(self, name: str) -> str | None:
        return answer("env", name)

    def read(self, path: str) -> str | None:
        return answer("read", path)

    def write(self, path: str) -> str:
        return answer("write", path)

    def dep_env(self, name: str) -> str | None:
        return answer("dep-env", name)

    def dep_read(self, path: str) -> str | None:
        return answer("dep-read", path)

    def grow(self) -> int:
        return answer("grow", "")

    def spin(self) -> int:
        return answer("spin", "")

    def config(self, key: str) -> str | None:
        return answer("config", key)

    def store(self, name: str) -> str:
        return answer("store", name)


class Run(exports.Run):
    def run(self) -> None:
        question, arg = [*sys.argv[1:], "", ""][:2]
        print(json.dumps(answer(question, arg)))
        sys.stdout.flush()


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path, _, query = (request.path_with_query() or "/").partition("?")
        body = json.dumps(answer(path.rsplit("/", 1)[-1], unquote(query))).encode()
        response = OutgoingResponse(Fields.from_list([("content-type", b"application/json")]))
        outgoing = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        stream = outgoing.write()
        stream.blocking_write_and_flush(body)
        stream.__exit__(None, None, None)
        OutgoingBody.finish(outgoing, None)


__all__ = ["Err", "IncomingHandler", "Probe", "Run"]
