// A wasmcloud:messaging/handler@0.2.0 in JavaScript: records each message on `audit.js`
// ("<subject> <body>"); a body "fail" is an err (a thrown value); a message with a reply-to
// is answered with "js:" and its body in capitals.
import { publish } from "wasmcloud:messaging/consumer@0.2.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const handler = {
  handleMessage(msg) {
    const body = decoder.decode(msg.body);
    publish({ subject: "audit.js", body: encoder.encode(`${msg.subject} ${body}`) });
    if (body === "fail") throw "refused: asked to fail";
    if (msg.replyTo !== undefined) {
      publish({ subject: msg.replyTo, body: encoder.encode(`js:${body.toUpperCase()}`) });
    }
  },
};
