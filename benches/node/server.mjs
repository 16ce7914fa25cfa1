// The node:http reference for `make bench`: the same job written the way the tutorials
// this project grew from write it (node's built-in `http`, no npm packages, one
// `res.write` per event per subscriber), so that their readers can set sse-server beside
// the platform they know.
//
// Routes and answers, as in sse-server and the async reference (benches/reference):
// - `GET /subscribe?topic=T` (repeatable; `default` if none) streams `retry: 3000` first,
//   then `id:`/`data:` events (an `event:` line when the publish named one), and a
//   `: keep-alive` comment every HEARTBEAT_SECS on each stream.
// - `POST /publish?topic=T&event=E` with the message as its body answers
//   `202 {"id": "N", "subscribers": K}`.
// Anything else is 404, a known path with the wrong method 405.
//
// Usage: `node server.mjs PORT [HEARTBEAT_SECS]`. Like the tutorials' servers it leaves
// SIGINT to node, which ends the process at once without closing its streams.

import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 5002);
const heartbeatSecs = Number(process.argv[3] ?? 15);

// The open streams of each topic.
const topics = new Map();
let lastId = 0;

function topicsOf(url) {
  const named = url.searchParams.getAll("topic");
  return named.length > 0 ? [...new Set(named)] : ["default"];
}

function subscribe(req, res, url) {
  res.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    Connection: "keep-alive",
  });
  res.write("retry: 3000\n\n");

  const mine = topicsOf(url);
  for (const topic of mine) {
    if (!topics.has(topic)) topics.set(topic, new Set());
    topics.get(topic).add(res);
  }

  // Each stream keeps its own heartbeat, as the tutorials keep their own interval.
  const intervalId = setInterval(() => {
    res.write(": keep-alive\n\n");
  }, heartbeatSecs * 1000);

  req.on("close", () => {
    clearInterval(intervalId);
    for (const topic of mine) {
      const streams = topics.get(topic);
      streams.delete(res);
      if (streams.size === 0) topics.delete(topic);
    }
    res.end();
  });
}

function publish(req, res, url) {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => {
    body += chunk;
  });
  req.on("end", () => {
    lastId++;
    // Every line of the message is a `data:` line (WHATWG HTML, "Server-sent events":
    // the client joins them with LF), as axum's `Event::data` writes them.
    const event = url.searchParams.get("event");
    const lines = body.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`);
    const text = `${event ? `event: ${event}\n` : ""}id: ${lastId}\n${lines.join("")}\n`;
    let subscribers = 0;
    for (const topic of topicsOf(url)) {
      for (const stream of topics.get(topic) ?? []) {
        stream.write(text);
        subscribers++;
      }
    }
    const answer = `{"id": "${lastId}", "subscribers": ${subscribers}}\n`;
    res.writeHead(202, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(answer),
    });
    res.end(answer);
  });
}

function requestHandler(req, res) {
  const url = new URL(req.url, "http://localhost");
  const routes = { "/subscribe": ["GET", subscribe], "/publish": ["POST", publish] };
  const route = routes[url.pathname];
  if (!route) {
    res.writeHead(404);
    res.end();
  } else if (req.method !== route[0]) {
    res.writeHead(405, { Allow: route[0] });
    res.end();
  } else {
    route[1](req, res, url);
  }
}

const server = createServer(requestHandler);

server.on("error", (error) => {
  console.error("Server error:", error);
});
server.on("listening", () => {
  console.error(`Server running at http://127.0.0.1:${port}/`);
});

server.listen(port, "127.0.0.1");
