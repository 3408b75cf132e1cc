"""wasmesh lattice."""
