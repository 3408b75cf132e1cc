"""The dashboard in a real headless browser (Debian's chromium, driven through chromium-driver
by Selenium): `wasmesh dashboard` of a two-host lattice shows its hosts, apps and wiring graph,
and its request counter moves after HTTP traffic through a host's ingress.

A screenshot is kept at `.cache/artifacts/dashboard.png` (its path is printed).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.lattice.conftest import admin, lattice, run
from tests.support.processes import spawn, stop
from wasmesh.lattice.app import Placement, topology_from_manifest
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.topology import Topology
from wasmesh.observe.dashboard.server import DashboardServer
from wasmesh.observe.dashboard.view import LatticeView

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "polyglot" / "wasmesh.toml"
ARTIFACTS = ROOT / ".cache" / "artifacts"  # kept after the run, never committed
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ORDER = json.dumps([{"sku": "tea", "quantity": 3, "unit-cents": 450}]).encode()

T = TypeVar("T")


def until(what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless chromium through chromium-driver; both stopped after."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        assert path.exists(), f"{path} is missing: install Debian's {package} (scripts/setup.py)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1100"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def ingress_url(hosts: LocalHosts, host_id: str) -> str:
    found = re.search(r"Serving HTTP on (http://[\d.]+:\d+)/", hosts.log(host_id))
    return found[1] if found else ""


def admin_listener(hosts: LocalHosts, host_id: str) -> str:
    found = re.search(r"Admin on (http://[\d.]+:\d+)/", hosts.log(host_id))
    return found[1] if found else ""


def screenshot(driver: WebDriver) -> None:
    """Keep what the page shows now as `.cache/artifacts/dashboard.png`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "dashboard.png"
    if driver.save_screenshot(str(path)):
        print(f"dashboard screenshot: {path}")


def post(url: str) -> int:
    request = urllib.request.Request(url, data=ORDER, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(response.status)


def texts(driver: WebDriver, css: str, attribute: str = "") -> list[str]:
    """The text (or `attribute`) of every element matching `css`, read in one script: the
    page redraws every second, so an element found in one call may be gone in the next."""
    script = ("return Array.from(document.querySelectorAll(arguments[0])).map(e => "
              "(arguments[1] ? e.getAttribute(arguments[1]) : e.textContent) ?? '')")  # fmt: skip
    return [str(x) for x in driver.execute_script(script, css, attribute)]


def test_the_dashboard_shows_a_running_lattice_and_its_traffic_in_a_browser(
    nats_server: NatsServer, tmp_path: Path, browser: WebDriver
) -> None:
    assert nats_server.secrets is not None
    where = {"front": Placement(labels={"lang": "python"}),
             **{u: Placement(labels={"lang": "native"}) for u in ("tax", "presentation",
                                                                    "receipt")}}  # fmt: skip
    app, topology = topology_from_manifest(EXAMPLE, where, strategy="per-component")
    trust = ("--trust", str(nats_server.secrets.lattice().trust), "--http", "127.0.0.1:0")
    hosts = LocalHosts(nats_server.url, tmp_path / "hosts", options=nats_server.options("host"),
                       args=trust)  # fmt: skip
    dashboard: Any = None
    shot = False
    try:
        hosts.start("py", "lang=python", "zone=a")
        hosts.start("native", "lang=native", "zone=b")

        async def deploy() -> None:
            async with admin(nats_server) as client:
                await client.deploy(app, topology)
                await client.wait_ready(app, 240)

        run(deploy(), 300)
        client = nats_server.options("client")
        files = [("--creds", client.creds), ("--tls-ca", client.tls_ca),
                 ("--tls-cert", client.tls_cert), ("--tls-key", client.tls_key)]  # fmt: skip
        creds = [str(x) for flag, path in files if path is not None for x in (flag, path)]
        dashboard = spawn("dashboard", "--nats", nats_server.url, "--listen", "127.0.0.1:0",
                          *creds, cwd=tmp_path)  # fmt: skip
        assert dashboard.stdout is not None
        line = dashboard.stdout.readline()
        found = re.search(r"on (http://[\d.]+:\d+)/", line)
        assert found, line + dashboard.stdout.read()

        browser.get(found[1] + "/")
        until("both hosts", lambda: set(texts(browser, "#hosts tr[data-host] td.name"))
              == {"py", "native"})  # fmt: skip
        [host_row] = texts(browser, '#hosts tr[data-host="py"]')
        assert "lang=python" in host_row and "zone=a" in host_row and "shop/front" in host_row
        assert texts(browser, "#apps tr[data-app] td.name") == [app]
        until("the app ready", lambda: "ready" in texts(browser, "#apps td.ready"))
        units = set(texts(browser, f'#graph svg[data-app="{app}"] g.unit > text:first-of-type'))
        assert units == {"front", "tax", "presentation", "receipt"}
        edges = set(zip(texts(browser, "#graph g.edge", "data-from"),
                        texts(browser, "#graph g.edge", "data-to"), strict=True))  # fmt: skip
        assert ("front", "tax") in edges and ("front", "presentation") in edges
        assert all("calls/s" in t for t in texts(browser, "#graph g.edge text.figures"))

        def counter() -> float:
            [value] = texts(browser, "#total-requests", "data-value")
            return float(value or 0)

        before = counter()
        url = until("the ingress", lambda: ingress_url(hosts, "native"))
        for _ in range(6):  # through the host without front: forwarded over NATS
            assert post(f"{url}/quote/fr") == 200
        until("the request counter to move", lambda: counter() >= before + 6)
        assert "/quote/..." in texts(browser, "#routes tr[data-route]", "data-route")
        # front's calls to tax crossed hosts: the edge shows their rate and latency
        timed = re.compile(r"tax: .* p50 [\d.,]+ ms")

        def edge_timed() -> list[str]:
            return [t for t in texts(browser, "#graph g.edge text") if timed.search(t)]

        until("the edge's latency", edge_timed)
        screenshot(browser)
        shot = True

        # a host's admin listener serves the same page
        admin_url = until("the admin listener", lambda: admin_listener(hosts, "py"))
        browser.get(admin_url + "/")
        until("both hosts on the admin page", lambda: set(texts(browser, "#hosts td.name"))
              == {"py", "native"})  # fmt: skip
        assert admin_url + "/" in texts(browser, '#hosts tr[data-host="py"] a', "href")
        assert texts(browser, f'#graph svg[data-app="{app}"] g.unit')
    finally:
        if not shot:  # a failure's screenshot says the most
            screenshot(browser)
        if dashboard is not None:
            stop(dashboard)
        hosts.stop_all()


def test_the_page_shows_the_lattice_before_any_event(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology], browser: WebDriver
) -> None:
    # events held back (as a buffering proxy does): the page still shows the lattice now
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/events"]})

    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {"zone": "a"}, {"zone": "b"}) as (client, _):
            await client.deploy("shop", shop())
            await client.wait_ready("shop", 60)
            view = LatticeView(nats_server.options("client"))
            await view.start()
            server = DashboardServer(view)
            await server.start()
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, browser.get, server.url + "/")
                hosts = await loop.run_in_executor(None, until, "the hosts", lambda: set(
                    texts(browser, "#hosts tr[data-host] td.name")) == {"h0", "h1"})  # fmt: skip
                assert hosts
                names = await loop.run_in_executor(None, texts, browser, "#apps td.name")
                assert names == ["shop"]
                status = await loop.run_in_executor(None, texts, browser, "#status")
                assert status != ["live"]  # no event reached the page
            finally:
                await server.close()
                await view.close()

    run(scenario(), 180)
