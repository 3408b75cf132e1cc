// shop:pricing/receipt in Go: an itemized receipt, discounted by presentation (JavaScript) and
// taxed by tax (C) exactly as the Python front's quote is, so both agree on the total.
package main

import (
	"fmt"
	"strings"
)

func main() {}

const unknownRegion = 0xffffffff

var currencies = map[string]string{"us-ny": "USD", "uk": "GBP", "jp": "JPY"}

// ReceiptReceipt implements shop:pricing/receipt@0.1.0#receipt.
func ReceiptReceipt(lines []Line, region string) Result[string, string] {
	rate := TaxRateBp(region)
	if rate == unknownRegion {
		return Err[string](region)
	}
	currency, ok := currencies[region]
	if !ok {
		currency = "EUR"
	}
	money := func(cents uint64) string { return PresentationFormatCents(cents, currency) }
	var out strings.Builder
	var subtotal uint64
	var count uint32
	for _, line := range lines {
		amount := uint64(line.Quantity) * line.UnitCents
		subtotal += amount
		count += line.Quantity
		fmt.Fprintf(&out, "%d %s @ %s = %s\n", line.Quantity, line.Sku, money(line.UnitCents), money(amount))
	}
	discount := PresentationDiscountCents(subtotal, count)
	tax := TaxTaxCents(subtotal-discount, rate)
	fmt.Fprintf(&out, "subtotal %s\ndiscount %s\ntax %s\ntotal %s\n",
		money(subtotal), money(discount), money(tax), money(subtotal-discount+tax))
	return Ok[string, string](out.String())
}
