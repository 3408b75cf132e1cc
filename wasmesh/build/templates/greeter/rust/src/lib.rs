//! The {{name}} component: implements the exports of wit/world.wit. The `wit-bindgen` crate
//! generates the canonical-ABI glue from the WIT (wasmesh puts the component's WIT in `wit/`).

wit_bindgen::generate!({ world: "{{world}}", path: "wit" });

use exports::{{name_snake}}::component::greeter::Guest;

struct Component;

impl Guest for Component {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }
}

export!(Component);
