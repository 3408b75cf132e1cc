// The {{name}} component: implements the exports of wit/world.wit. wasmesh generates the glue
// from the WIT when it builds (Go types for WIT types, Option, Result, the canonical ABI); each
// exported function is a Go function named <Interface><Function>, each import one to call.
package main

func main() {}

// GreeterGreet implements {{name}}:component/greeter@0.1.0#greet.
func GreeterGreet(name string) string {
	return "Hello, " + name + "!"
}
