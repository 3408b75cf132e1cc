// shop:pricing/presentation in JavaScript: discount rules and money as text.
// u64 values arrive as BigInt.

export const presentation = {
  // 5% off from 10 items, 10% off from 10,000.00; never more than 50.00.
  discountCents(subtotalCents, itemCount) {
    let rate = 0n;
    if (subtotalCents >= 1000000n) rate = 10n;
    else if (itemCount >= 10) rate = 5n;
    const off = (subtotalCents * rate) / 100n;
    return off > 5000n ? 5000n : off;
  },

  formatCents(cents, currency) {
    const units = cents / 100n;
    const rest = (cents % 100n).toString().padStart(2, "0");
    const grouped = units.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const symbol = { EUR: "€", USD: "$", GBP: "£", JPY: "¥" }[currency];
    return symbol ? `${symbol}${grouped}.${rest}` : `${grouped}.${rest} ${currency}`;
  },
};
