"""wasmesh triggers."""
