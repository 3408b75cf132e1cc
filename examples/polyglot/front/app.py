"""shop:pricing/quote in Python: adds up an order, asks JS for the discount and C for the tax.

The same quote is served over HTTP (`wasi:http/incoming-handler`):

    POST /quote/<region>  body [{"sku": "tea", "quantity": 3, "unit-cents": 450}, ...]
                          -> 200 {"subtotal-cents": ..., "summary": ...}
                          -> 400 {"error": "<case>", "detail": ...} for an order it refuses
    GET  /quote/health    -> 200 ok
"""

from __future__ import annotations

import json
from typing import Any

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.exports.quote import (
    Error,
    Error_BadQuantity,
    Error_EmptyOrder,
    Error_UnknownRegion,
    LineItem,
    Offer,
)
from wit_world.imports import presentation, streams, tax
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Get,
    Method_Post,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

UNKNOWN = 0xFFFFFFFF
CURRENCY = {"us-ny": "USD", "uk": "GBP", "jp": "JPY"}
MAX_BODY = 1 << 20


def quote(items: list[LineItem], region: str) -> Offer:
    if not items:
        raise Err(Error_EmptyOrder())
    for item in items:
        if item.quantity == 0:
            raise Err(Error_BadQuantity(item.sku))
    rate = tax.rate_bp(region)
    if rate == UNKNOWN:
        raise Err(Error_UnknownRegion(region))
    subtotal = sum(item.quantity * item.unit_cents for item in items)
    count = sum(item.quantity for item in items)
    discount = presentation.discount_cents(subtotal, count)
    tax_cents = tax.tax_cents(subtotal - discount, rate)
    total = subtotal - discount + tax_cents
    money = presentation.format_cents(total, CURRENCY.get(region, "EUR"))
    summary = f"{count} items, {money} incl. tax"
    return Offer(subtotal, discount, tax_cents, total, summary)


class Quote(exports.Quote):
    def quote(self, items: list[LineItem], region: str) -> Offer:
        return quote(items, region)


# -- HTTP ----------------------------------------------------------------------------------


class BadRequest(Exception):
    """The request body is not an order."""


def read_body(request: IncomingRequest) -> bytes:
    body = request.consume()
    stream = body.stream()
    data = b""
    while True:
        try:
            data += stream.blocking_read(64 * 1024)
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                break
            raise
        if len(data) > MAX_BODY:
            raise BadRequest("the order is larger than 1 MiB")
    stream.__exit__(None, None, None)
    return data


def parse_items(data: bytes) -> list[LineItem]:
    try:
        items = json.loads(data)
    except ValueError as e:
        raise BadRequest(f"the body is not JSON: {e}") from None
    if not isinstance(items, list):
        raise BadRequest('the body must be a JSON list of {"sku", "quantity", "unit-cents"}')
    out = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"sku", "quantity", "unit-cents"}:
            raise BadRequest(f'item {n} must have exactly "sku", "quantity" and "unit-cents"')
        sku, quantity, cents = item["sku"], item["quantity"], item["unit-cents"]
        if not isinstance(sku, str):
            raise BadRequest(f'item {n}: "sku" must be a string')
        for key, value, top in (("quantity", quantity, 1 << 32), ("unit-cents", cents, 1 << 64)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < top:
                raise BadRequest(f'item {n}: "{key}" must be a whole number from 0')
        out.append(LineItem(sku, quantity, cents))
    return out


def offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "subtotal-cents": offer.subtotal_cents,
        "discount-cents": offer.discount_cents,
        "tax-cents": offer.tax_cents,
        "total-cents": offer.total_cents,
        "summary": offer.summary,
    }


def error_json(error: Error) -> dict[str, Any]:
    if isinstance(error, Error_BadQuantity):
        return {"error": "bad-quantity", "detail": error.value}
    if isinstance(error, Error_UnknownRegion):
        return {"error": "unknown-region", "detail": error.value}
    return {"error": "empty-order"}


def respond(out: ResponseOutparam, status: int, body: bytes, content_type: bytes) -> None:
    headers = [("content-type", content_type), ("content-length", str(len(body)).encode())]
    response = OutgoingResponse(Fields.from_list(headers))
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    for offset in range(0, len(body), 4096):
        stream.blocking_write_and_flush(body[offset : offset + 4096])
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


def respond_json(out: ResponseOutparam, status: int, data: dict[str, Any]) -> None:
    respond(out, status, json.dumps(data, ensure_ascii=False).encode() + b"\n", b"application/json")


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path = (request.path_with_query() or "/").partition("?")[0]
        parts = [p for p in path.split("/") if p]
        method = request.method()
        if len(parts) != 2 or parts[0] != "quote":
            respond_json(response_out, 404, {"error": "use POST /quote/<region>"})
        elif isinstance(method, Method_Get) and parts[1] == "health":
            respond(response_out, 200, b"ok\n", b"text/plain")
        elif not isinstance(method, Method_Post):
            respond_json(response_out, 405, {"error": "use POST /quote/<region>"})
        else:
            try:
                offer = quote(parse_items(read_body(request)), parts[1])
            except BadRequest as e:
                respond_json(response_out, 400, {"error": "bad-request", "detail": str(e)})
            except Err as e:
                respond_json(response_out, 400, error_json(e.value))
            else:
                respond_json(response_out, 200, offer_json(offer))
