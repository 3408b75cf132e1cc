"""wasmesh compose."""
