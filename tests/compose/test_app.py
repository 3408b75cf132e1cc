"""The polyglot example: Python and Go calling C and JavaScript, fused or split, in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.api import Interface
from wasmesh.engine.values import Err, Ok, Record, Variant
from wasmesh.errors import ExportNotFound
from wasmesh.runtime.app import App

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "polyglot" / "wasmesh.toml"  # built in its own .wasmesh, like the CLI
QUOTE = "shop:pricing/quote@0.1.0#quote"
RECEIPT = "shop:pricing/receipt@0.1.0#receipt"

pytestmark = pytest.mark.slow

ITEMS = [
    Record({"sku": "tea", "quantity": 3, "unit-cents": 450}),
    Record({"sku": "cup", "quantity": 8, "unit-cents": 1299}),
]


@pytest.fixture(scope="module", params=["monolith", "per-component"])
def shop(request: pytest.FixtureRequest) -> App:
    return App.load(EXAMPLE, strategy=request.param)


def test_the_example_plans_as_declared(shop: App) -> None:
    if shop.manifest.strategy == "monolith":
        assert [(p.name, p.components) for p in shop.plans] == [
            ("main", ("tax", "presentation", "front", "receipt"))
        ]
    else:
        names = [p.name for p in shop.plans]
        assert set(names[-2:]) == {"front", "receipt"}  # after the units they call
        assert {link.provider for link in shop.unit_of("front").remote} == {"tax", "presentation"}
        assert {link.provider for link in shop.unit_of("receipt").remote} == {"tax", "presentation"}
    assert [t.route for t in shop.manifest.http_triggers] == ["/quote/..."]


def test_a_quote_is_added_up_in_python_discounted_in_js_and_taxed_in_c(shop: App) -> None:
    # subtotal 3 * 4.50 + 8 * 12.99 = 117.42; 11 items: 5% off = 5.87; 20% tax on 111.55 = 22.31
    assert shop.call(QUOTE, ITEMS, "fr") == Ok(
        Record(
            {
                "subtotal-cents": 11742,
                "discount-cents": 587,
                "tax-cents": 2231,
                "total-cents": 13386,
                "summary": "11 items, €133.86 incl. tax",
            }
        )
    )
    quote = shop.exports["shop:pricing/quote"]
    assert isinstance(quote, Interface)
    offer = quote.quote(ITEMS[:1], "us-ny")
    # 13.50 at 8.87% is 1.19745: 1.20 in cents; no discount under 10 items
    assert offer.value.tax_cents == 120 and offer.value.summary == "3 items, $14.70 incl. tax"


def test_the_go_receipt_agrees_with_the_python_quote(shop: App) -> None:
    receipt = shop.call(RECEIPT, ITEMS, "fr")
    assert receipt == Ok(
        "3 tea @ €4.50 = €13.50\n"
        "8 cup @ €12.99 = €103.92\n"
        "subtotal €117.42\ndiscount €5.87\ntax €22.31\ntotal €133.86\n"
    )
    assert shop.call(RECEIPT, ITEMS[:1], "us-ny").value.endswith("tax $1.20\ntotal $14.70\n")
    assert shop.call(RECEIPT, ITEMS, "mars") == Err("mars")


def test_errors_come_back_as_wit_variants(shop: App) -> None:
    assert shop.call(QUOTE, [], "fr") == Err(Variant("empty-order"))
    assert shop.call(QUOTE, ITEMS, "mars") == Err(Variant("unknown-region", "mars"))
    bad = [Record({"sku": "ghost", "quantity": 0, "unit-cents": 1})]
    assert shop.call(QUOTE, bad, "fr") == Err(Variant("bad-quantity", "ghost"))


def test_unknown_exports_are_named(shop: App) -> None:
    with pytest.raises(
        ExportNotFound, match=r"no unit exports `shop:pricing/quote#quot` in app `shop`"
    ):
        shop.call("shop:pricing/quote#quot", ITEMS, "fr")
