"""Build the polyglot example app and serve it over HTTP (`./dev example`).

Builds `examples/polyglot` (Python front, C tax, JS presentation), serves its routes as
`wasmesh up examples/polyglot` does, quotes one order through a real HTTP request, and keeps
serving until Ctrl-C. `--check` stops after that request (exit 0 when the quote came back).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wasmesh.engine.config import tune_for_serving  # noqa: E402
from wasmesh.errors import GuestError, WasmeshError  # noqa: E402
from wasmesh.runtime.app import App  # noqa: E402
from wasmesh.triggers.http import Server  # noqa: E402
from wasmesh.triggers.http.apps import app_routes  # noqa: E402

EXAMPLE = ROOT / "examples" / "polyglot"
ORDER = [
    {"sku": "tea", "quantity": 3, "unit-cents": 450},
    {"sku": "cup", "quantity": 2, "unit-cents": 999},
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT")
    parser.add_argument("--topology", choices=("monolith", "per-component"), default=None)
    parser.add_argument("--check", action="store_true", help="exit after one request")
    args = parser.parse_args()
    try:
        return run(args.listen, args.topology, args.check)
    except (WasmeshError, GuestError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(listen: str, topology: str | None, check: bool) -> int:
    started = time.monotonic()
    print(f"building {EXAMPLE.relative_to(ROOT)} (the first build takes a minute or two)...",
          flush=True)  # fmt: skip
    tune_for_serving()
    app = App.load(EXAMPLE, strategy=topology, quiet=False)
    print(f"built {len(app.plans)} unit(s) in {time.monotonic() - started:.1f} s", flush=True)
    for plan in app.plans:
        print(f"  unit {plan.name}: {', '.join(plan.components)}", flush=True)
    try:
        routes = app_routes(app)
        server = Server({r.route: r.target for r in routes}, listen)
        print("routes:", flush=True)
        for r in routes:
            print(f"  {r.route}  -> {r.component} (unit {r.unit})", flush=True)
        url = f"{server.url}/quote/fr"
        print(f"Serving HTTP on {server.url}/\n\ntry it:\n"
              f"  curl -s -X POST {url} -d '{json.dumps(ORDER)}'\n", flush=True)  # fmt: skip
        outcome: list[bool] = []
        asker = threading.Thread(target=ask, args=(server, outcome, check), daemon=True)
        asker.start()
        server.run()
        asker.join(5)
        return 0 if outcome == [True] or not check else 1
    finally:
        app.close()


def ask(server: Server, outcome: list[bool], stop_after: bool) -> None:
    """Quote the order over HTTP, print the answer; stop the server after it if asked."""
    try:
        host, port = server.address[0], server.address[1]
        conn = http.client.HTTPConnection(host, port, timeout=60)
        started = time.monotonic()
        conn.request("POST", "/quote/fr", body=json.dumps(ORDER).encode(),
                     headers={"content-type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        body = response.read().decode()
        ms = (time.monotonic() - started) * 1000
        print(f"POST /quote/fr -> {response.status} in {ms:.0f} ms\n{body}", flush=True)
        outcome.append(response.status == 200)
        conn.close()
    except OSError as e:
        print(f"the request failed: {e}", file=sys.stderr, flush=True)
        outcome.append(False)
    if stop_after:
        server.shutdown()
    else:
        print("serving until Ctrl-C", flush=True)


if __name__ == "__main__":
    sys.exit(main())
