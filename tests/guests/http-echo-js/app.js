// A fetch-event HTTP app: /echo streams the request body back, /headers returns the x-*
// request headers, /status/<code> answers with that status, /fetch?url=... fetches url,
// anything else says hello.

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === "/echo") {
    const body = await request.arrayBuffer();
    return new Response(body, {
      headers: { "content-type": request.headers.get("content-type") || "application/octet-stream" },
    });
  }
  if (url.pathname === "/headers") {
    const headers = new Headers();
    for (const [name, value] of request.headers) {
      if (name.startsWith("x-")) headers.set(name, value);
    }
    return new Response("", { headers });
  }
  if (url.pathname === "/fetch") {
    try {
      const upstream = await fetch(url.searchParams.get("url"));
      return new Response(`${upstream.status} ${await upstream.text()}`);
    } catch (e) {
      return new Response(`fetch failed: ${e}`, { status: 502 });
    }
  }
  if (url.pathname.startsWith("/status/")) {
    return new Response("status", { status: Number(url.pathname.slice(8)) });
  }
  return new Response(`hello from js ${request.method} ${url.pathname}`, {
    headers: { "content-type": "text/plain" },
  });
}
