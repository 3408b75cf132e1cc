"""wasmesh engine."""
