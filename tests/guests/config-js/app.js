// /config/<key> answers the value of one config key (404 when the component may not read
// it); /config answers every key it may read, as JSON.
import { get, getAll } from "wasi:config/store@0.2.0-draft";

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === "/config") {
    return new Response(JSON.stringify(Object.fromEntries(getAll())), {
      headers: { "content-type": "application/json" },
    });
  }
  if (url.pathname.startsWith("/config/")) {
    const value = get(decodeURIComponent(url.pathname.slice(8)));
    if (value === undefined) return new Response("no such key", { status: 404 });
    return new Response(value, { headers: { "content-type": "text/plain" } });
  }
  return new Response("not found", { status: 404 });
}
