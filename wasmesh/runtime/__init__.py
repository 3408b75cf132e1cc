"""wasmesh runtime."""
