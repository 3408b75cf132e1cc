"""Shared helpers for wasmesh's tests."""
