"""The live dashboard: a web page of a lattice's hosts, apps, wiring and traffic.

`stats` runs on every lattice host and publishes its live statistics; `view` gathers them with
the lattice's status into one JSON document; `server` serves the page (`static/`, no build step,
nothing from outside) and the document as server-sent events.
"""
