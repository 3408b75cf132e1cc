// The {{name}} component: implements the exports of wit/world.wit.

export const greeter = {
  greet(name) {
    return `Hello, ${name}!`;
  },
};
