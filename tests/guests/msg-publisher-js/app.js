// Publishes and sends requests through wasmcloud:messaging/consumer@0.2.0, over HTTP:
// `/js/publish?subject=S&body=B` answers 202 "published" (403 and the error when refused),
// `/js/request?subject=S&body=B[&timeout=MS]` the reply's body (502 and the error).
// componentize-js turns an `err` result into a thrown value.
import { publish, request } from "wasmcloud:messaging/consumer@0.2.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(body, status) {
  return new Response(body, { status, headers: { "content-type": "text/plain" } });
}

function problem(e) {
  return typeof e === "string" ? e : e && e.payload !== undefined ? String(e.payload) : String(e);
}

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(req) {
  const url = new URL(req.url);
  const subject = url.searchParams.get("subject") || "";
  const body = encoder.encode(url.searchParams.get("body") || "");
  if (url.pathname === "/js/publish") {
    try {
      publish({ subject, body });
    } catch (e) {
      return text(problem(e), 403);
    }
    return text("published", 202);
  }
  if (url.pathname === "/js/request") {
    try {
      const reply = request(subject, body, Number(url.searchParams.get("timeout") || "5000"));
      return text(decoder.decode(reply.body), 200);
    } catch (e) {
      return text(problem(e), 502);
    }
  }
  return text("no such route", 404);
}
