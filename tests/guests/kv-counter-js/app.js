// A key-value app on wasi:keyvalue@0.2.0-draft (wasmCloud's version) as a fetch-event app:
// GET [/PREFIX]/<op>/<store>/<key>?value=V runs get, set, delete, exists, keys, incr (value:
// the delta, default 1), getmany and deletemany (key: a,b,c) or setmany (value: v1,v2,...).
// 200 with the outcome, 403 for access-denied, 500 with the message for other store errors.
import { open } from "wasi:keyvalue/store@0.2.0-draft";
import { increment } from "wasi:keyvalue/atomics@0.2.0-draft";
import { getMany, setMany, deleteMany } from "wasi:keyvalue/batch@0.2.0-draft";

const text = new TextEncoder();
const untext = new TextDecoder();

function show(value) {
  return value === undefined || value === null ? "none" : untext.decode(value);
}

function run(store, op, key, value) {
  const bucket = open(store);
  switch (op) {
    case "get": return show(bucket.get(key));
    case "set": bucket.set(key, text.encode(value)); return "ok";
    case "delete": bucket.delete(key); return "ok";
    case "exists": return String(bucket.exists(key));
    case "keys": {
      const keys = [];
      let cursor = undefined;
      do {
        const page = bucket.listKeys(cursor);
        keys.push(...page.keys);
        cursor = page.cursor;
      } while (cursor !== undefined && cursor !== null);
      return keys.join(",");
    }
    case "incr": return String(increment(bucket, key, BigInt(value || "1")));
    case "getmany":
      return getMany(bucket, key.split(","))
        .map((item, i) => item ? `${item[0]}=${show(item[1])}` : `${key.split(",")[i]}=none`)
        .join(";");
    case "setmany": {
      const values = value.split(",");
      setMany(bucket, key.split(",").map((k, i) => [k, text.encode(values[i])]));
      return "ok";
    }
    case "deletemany": deleteMany(bucket, key.split(",")); return "ok";
    default: return `unknown op ${op}`;
  }
}

function describe(error) {
  const payload = error && error.payload !== undefined ? error.payload : error;
  if (payload && payload.tag === "other") return `other: ${payload.val}`;
  if (payload && payload.tag) return payload.tag;
  return `unexpected: ${error}`;
}

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  const parts = url.pathname.split("/").filter((p) => p).slice(-3).map(decodeURIComponent);
  if (parts.length !== 3) return new Response("GET /<op>/<store>/<key>\n", { status: 404 });
  const [op, store, key] = parts;
  try {
    return new Response(run(store, op, key, url.searchParams.get("value") || ""));
  } catch (error) {
    const said = describe(error);
    return new Response(said, { status: said === "access-denied" ? 403 : 500 });
  }
}
