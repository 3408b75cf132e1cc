"""A wasmcloud:messaging/handler@0.2.0 in Python.

Every message is first recorded on `audit.py` ("<subject> <body>"); then a body "trap" traps
(an uncaught exception), "fail" returns an err, and a message with a reply-to is answered
with "py:" and its body in capitals.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import consumer
from wit_world.imports.types import BrokerMessage


class Handler(exports.Handler):
    def handle_message(self, msg: BrokerMessage) -> None:
        body = bytes(msg.body)
        consumer.publish(BrokerMessage("audit.py", msg.subject.encode() + b" " + body, None))
        if body == b"trap":
            raise RuntimeError("asked to trap")
        if body == b"fail":
            raise Err("refused: asked to fail")
        if msg.reply_to is not None:
            consumer.publish(BrokerMessage(msg.reply_to, b"py:" + body.upper(), None))
