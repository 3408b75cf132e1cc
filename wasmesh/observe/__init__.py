"""Seeing wasmesh run: request logs, Prometheus metrics, traces and the dashboard."""
