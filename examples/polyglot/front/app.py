"""shop:pricing/quote in Python: adds up an order, asks JS for the discount and C for the tax."""

from __future__ import annotations

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.quote import (
    Error_BadQuantity,
    Error_EmptyOrder,
    Error_UnknownRegion,
    LineItem,
    Offer,
)
from wit_world.imports import presentation, tax

UNKNOWN = 0xFFFFFFFF
CURRENCY = {"us-ny": "USD", "uk": "GBP", "jp": "JPY"}


class Quote(exports.Quote):
    def quote(self, items: list[LineItem], region: str) -> Offer:
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
