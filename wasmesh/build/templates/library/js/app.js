// The {{name}} component: implements the `text` interface of wit/world.wit.

export const text = {
  count(s) {
    const words = s.split(/\s+/).filter((w) => w.length > 0).length;
    return { words, chars: [...s].length };
  },
};
