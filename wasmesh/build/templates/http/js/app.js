// The {{name}} component: answers every HTTP request with a greeting naming its path
// (componentize-js serves the web platform's fetch event as wasi:http/incoming-handler).

addEventListener("fetch", (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  return new Response(`hello from {{name}}: ${url.pathname}${url.search}\n`, {
    headers: { "content-type": "text/plain" },
  });
}
