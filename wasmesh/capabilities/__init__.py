"""wasmesh capabilities."""
