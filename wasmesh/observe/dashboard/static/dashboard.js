// The wasmesh dashboard: renders the lattice document the server sends as server-sent events
// (`state` events, one JSON document each; see wasmesh/observe/dashboard/view.py).
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function num(value, digits) {
  return Number(value || 0).toLocaleString("en", { maximumFractionDigits: digits ?? 0 });
}

function mib(bytes) {
  return bytes ? `${num(bytes / 1048576, 1)} MiB` : "–";
}

function fill(tableId, rows) {
  document.querySelector(`#${tableId} tbody`).replaceChildren(...rows);
}

function renderHosts(hosts) {
  fill("hosts", hosts.map((h) => {
    const labels = Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(", ") || "–";
    const load = h.load || {};
    const admin = h.admin ? el("a", { href: `${h.admin}/` }, "admin") : "";
    return el("tr", { "data-host": h.host },
      el("td", { class: "name" }, h.host), el("td", {}, labels),
      el("td", {}, h.units.join(", ") || "–"), el("td", { class: "num" }, h.capacity),
      el("td", { class: "num" }, h.load ? num(load.loadavg, 2) : "–"),
      el("td", { class: "num" }, mib(load.rss_bytes)),
      el("td", { class: "num" }, h.load ? num(load.in_flight) : "–"),
      el("td", { class: "num rps" }, num(h.rps, 1)), el("td", {}, admin));
  }));
}

function renderApps(apps) {
  fill("apps", apps.map((a) => {
    const units = el("td", {});
    for (const [name, u] of Object.entries(a.units)) {
      units.append(el("div", { "data-unit": name },
        `${name}: ${u.running.length}/${u.replicas} on ${u.running.join(", ") || "–"}`));
    }
    for (const e of a.errors) units.append(el("div", { class: "error" }, e));
    const version = a.app_version ? `v${a.version} (${a.app_version})` : `v${a.version}`;
    return el("tr", { "data-app": a.app },
      el("td", { class: "name" }, a.app), el("td", { class: "version" }, version),
      el("td", { class: a.ready ? "ready" : "not-ready" }, a.ready ? "ready" : "rolling out"),
      units);
  }));
}

const UNIT_W = 190, UNIT_H = 50, COLUMN = UNIT_W + 420, ROW = 90;

// Units in columns by call depth (callers left of what they call), edges as arrows.
function layout(units, edges) {
  const depth = Object.fromEntries(units.map((u) => [u.unit, 0]));
  for (let i = 0; i < units.length; i++) {
    for (const e of edges) {
      if (e.from in depth && e.to in depth && e.from !== e.to) {
        depth[e.to] = Math.max(depth[e.to], Math.min(depth[e.from] + 1, units.length));
      }
    }
  }
  const columns = [];
  for (const u of units) (columns[depth[u.unit]] ||= []).push(u);
  const place = {};
  columns.forEach((col, x) => (col || []).forEach((u, y) => {
    place[u.unit] = { x: 20 + x * COLUMN, y: 34 + y * ROW };
  }));
  const rows = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  return { place, width: 20 + (columns.length - 1) * COLUMN + UNIT_W + 20, height: 44 + rows * ROW };
}

function edgeLabel(e) {
  const p = (v) => (v === null || v === undefined ? "–" : `${num(v, 1)} ms`);
  const name = e.interface.replace(/^[^:]*:/, "").replace(/@.*$/, "");  // ns:pkg/iface@v
  return `${name}: ${num(e.calls_per_s, 1)} calls/s · p50 ${p(e.p50_ms)} · p99 ${p(e.p99_ms)}`;
}

function renderGraph(graph) {
  const W = UNIT_W, H = UNIT_H;
  const pictures = graph.map((app) => {
    const { place, width, height } = layout(app.units, app.edges);
    const root = svg("svg", { "data-app": app.app, width, height, viewBox: `0 0 ${width} ${height}` });
    const defs = svg("defs");
    const marker = svg("marker", { id: `arrow-${app.app}`, markerWidth: 8, markerHeight: 8, refX: 8, refY: 4, orient: "auto" });
    marker.append(svg("path", { d: "M0,0 L8,4 L0,8 z", fill: "#6b7385" }));
    defs.append(marker);
    root.append(defs, svg("text", { x: 10, y: 18, class: "app-name" }, app.app));
    for (const e of app.edges) {
      const a = place[e.from], b = place[e.to];
      if (!a || !b) continue;
      const g = svg("g", { class: "edge", "data-from": e.from, "data-to": e.to, "data-interface": e.interface });
      const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x - 2, b.y + H / 2];
      g.append(svg("line", { x1, y1, x2, y2, "marker-end": `url(#arrow-${app.app})` }));
      g.append(svg("title", {}, e.interface));
      // ending well into the edge: edges leaving one unit have parted by then, and the
      // edges reaching one unit have not met yet
      const t = 0.8;
      g.append(svg("text", { x: x1 + t * (x2 - x1), y: y1 + t * (y2 - y1) - 6,
                             "text-anchor": "end", class: "figures" }, edgeLabel(e)));
      root.append(g);
    }
    for (const u of app.units) {
      const p = place[u.unit];
      const g = svg("g", { class: u.running.length ? "unit" : "unit down", "data-unit": u.unit });
      g.append(svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 6 }));
      g.append(svg("text", { x: p.x + 10, y: p.y + 20 }, u.unit));
      g.append(svg("text", { x: p.x + 10, y: p.y + 38, class: "where" },
        `${u.running.length}/${u.replicas} on ${u.running.join(", ") || "–"}`));
      root.append(g);
    }
    return root;
  });
  document.getElementById("graph").replaceChildren(...pictures);
}

function renderRoutes(routes) {
  fill("routes", routes.map((r) => el("tr", { "data-route": r.route },
    el("td", { class: "name" }, r.route), el("td", { class: "num requests" }, num(r.requests)),
    el("td", { class: "num rps" }, num(r.rps, 1)), el("td", { class: "num errors" }, num(r.errors)),
    el("td", { class: "num error-rate" }, `${num(r.error_rate * 100, 1)} %`))));
  const total = routes.reduce((n, r) => n + r.requests, 0);
  const rps = routes.reduce((n, r) => n + r.rps, 0);
  const counter = document.getElementById("total-requests");
  counter.textContent = num(total);
  counter.dataset.value = String(total);
  document.getElementById("total-rps").textContent = num(rps, 1);
}

function renderRollouts(rollouts) {
  fill("rollouts", rollouts.map((r) => el("tr", { "data-app": r.app, "data-version": r.version },
    el("td", {}, r.app), el("td", { class: "num" }, `v${r.version}`),
    el("td", {}, r.app_version || "–"),
    el("td", {}, [
      r.rolled_back_to ? `rollback to v${r.rolled_back_to}` : "",
      r.current ? (r.ready ? "current" : "rolling out") : "",
    ].filter(Boolean).join(", ")))));
}

function render(doc) {
  document.getElementById("lattice").textContent = doc.lattice;
  renderHosts(doc.hosts);
  renderApps(doc.apps);
  renderGraph(doc.graph);
  renderRoutes(doc.routes);
  renderRollouts(doc.rollouts);
  document.body.dataset.updated = String(doc.at);
}

function connect() {
  const status = document.getElementById("status");
  let heard = false;  // an event came: newer than the document fetched at load
  // the view now, not after the first event (a proxy may hold events back)
  fetch("api/state", {cache: "no-store"})
    .then((r) => (r.ok ? r.json() : null))
    .then((doc) => { if (doc && !heard) render(doc); })
    .catch(() => {});
  const events = new EventSource("events");
  events.addEventListener("state", (msg) => {
    heard = true;
    status.className = "status live";
    status.textContent = "live";
    render(JSON.parse(msg.data));
  });
  events.onerror = () => {  // EventSource reconnects by itself
    status.className = "status lost";
    status.textContent = "reconnecting";
  };
}

connect();
