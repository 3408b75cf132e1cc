// A small JSON API as a fetch-event wasi:http/proxy app: a route table with path parameters,
// query strings, JSON in and out, and a short POST echo (the JS twin of http-router-py).

const ITEMS = new Map([
  [1, { id: 1, name: "tea", cents: 450 }],
  [2, { id: 2, name: "cake", cents: 300 }],
]);

function json(value, status = 200) {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function fib(n) {
  let a = 0n, b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
}

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  const parts = url.pathname.split("/").filter((p) => p);
  const method = request.method;
  if (method === "GET" && parts.length === 0) return json({ service: "api", routes: 12 });
  if (method === "GET" && parts[0] === "health") return new Response("ok");
  if (parts[0] === "items" && parts.length === 1 && method === "GET") return json([...ITEMS.values()]);
  if (parts[0] === "items" && parts.length === 2 && method === "GET") {
    const item = ITEMS.get(Number(parts[1]));
    return item ? json(item) : json({ error: `no item ${parts[1]}` }, 404);
  }
  if (parts[0] === "items" && parts.length === 1 && method === "POST") {
    let item;
    try {
      item = JSON.parse((await request.text()) || "{}");
    } catch {
      return json({ error: "body is not JSON" }, 400);
    }
    return json({ id: ITEMS.size + 1, ...item }, 201);
  }
  if (parts[0] === "echo" && method === "POST") {
    const body = await request.arrayBuffer();
    return new Response(body, {
      headers: { "content-type": request.headers.get("content-type") || "application/octet-stream" },
    });
  }
  if (parts[0] === "sum") {
    const total = Number(url.searchParams.get("a") || 0) + Number(url.searchParams.get("b") || 0);
    return json({ sum: total });
  }
  if (parts[0] === "upper" && parts.length === 2) return new Response(parts[1].toUpperCase());
  if (parts[0] === "headers") {
    const out = {};
    for (const [name, value] of request.headers) if (name.startsWith("x-")) out[name] = value;
    return json(out);
  }
  if (parts[0] === "time") return json({ seconds: Math.floor(Date.now() / 1000) });
  if (parts[0] === "fib" && parts.length === 2 && Number(parts[1]) <= 90) {
    return json({ n: Number(parts[1]), fib: fib(Number(parts[1])) });
  }
  if (parts[0] === "reverse" && method === "PUT") {
    const body = new Uint8Array(await request.arrayBuffer());
    return new Response(body.reverse());
  }
  return json({ error: `no route ${method} ${url.pathname}` }, 404);
}
