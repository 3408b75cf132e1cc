// demo:kinds/roundtrip (subset) in JavaScript: every echo returns its argument.
// componentize-js maps a result's err case to a thrown value and option to undefined/value.

const echo = (v) => v;

export const roundtrip = {
  echoU32: echo,
  echoString: echo,
  echoBytes: echo,
  echoStrings: echo,
  echoShape: echo,
  echoEvent: echo,
  echoColor: echo,
  echoOption: echo,
  lookup(name) {
    if (name === "") throw "not-found";
    if (name === "root") throw "denied";
    return name;
  },
  check(fail) {
    if (fail) throw "failed";
  },
  describe(a, b, c) {
    const hex = Array.from(c, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${a}|${b}|${hex}`;
  },
  mulAdd(a, b, c) {
    // Math.imul keeps the product exact modulo 2^32 where a * b would lose bits.
    return (Math.imul(a, b) + c) >>> 0;
  },
};
