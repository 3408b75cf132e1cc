// /config/<key> answers the value of one config key (404 when the component may not read
// it); /config answers every key it may read, as JSON. /runtime/... and /runtime answer the
// same through wasi:config/runtime, the interface's earlier name.
import { get, getAll } from "wasi:config/store@0.2.0-draft";
import * as runtime from "wasi:config/runtime@0.2.0-draft";

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

const SOURCES = { "/config": { get, getAll }, "/runtime": runtime };

async function handle(request) {
  const url = new URL(request.url);
  const [, first, ...rest] = url.pathname.split("/");
  const source = SOURCES[`/${first}`];
  if (source === undefined) return new Response("not found", { status: 404 });
  if (rest.length === 0) {
    return new Response(JSON.stringify(Object.fromEntries(source.getAll())), {
      headers: { "content-type": "application/json" },
    });
  }
  const value = source.get(decodeURIComponent(rest.join("/")));
  if (value === undefined) return new Response("no such key", { status: 404 });
  return new Response(value, { headers: { "content-type": "text/plain" } });
}
