// The `missed` event as an EventSource written outside this project sees it: after a
// cut longer than the history, the reconnect's first event is `missed`; it has no id
// field, so the id the client resumes from next time is still its last message's; and
// a reconnect that missed nothing is told nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { startServer, publish, waitFor, startRelay } from "./server.mjs";

let server;

before(async () => {
  // Two messages of history, and a short retry so the client comes back quickly.
  server = await startServer(["--history", "2", "--retry-ms", "200"]);
});

after(async () => {
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, "server must exit 0 on SIGINT");
});

const subscribers = async () => (await (await fetch(`${server.url}/stats`)).json()).subscribers;

test("a reconnect after messages left the history is told so first, and only then", async () => {
  const relay = await startRelay(server.url);
  const source = new EventSource(`${relay.url}/subscribe`);
  const seen = [];
  let opens = 0;
  source.addEventListener("open", () => { opens += 1; });
  source.addEventListener("message", (event) => seen.push(["message", event.lastEventId, event.data]));
  // This client reports "" as the lastEventId of an event without an id on a new
  // connection (browsers report the id they resumed from); either way it keeps the id
  // it resumes from, as the reconnect below shows.
  source.addEventListener("missed", (event) => seen.push(["missed", JSON.parse(event.data)]));
  try {
    await waitFor(() => opens === 1, 5_000, "the first open");
    await waitFor(async () => (await subscribers()) === 1, 5_000, "subscriber");
    await publish(server.url, "one");
    await publish(server.url, "two");
    await waitFor(() => seen.length === 2, 5_000, "two messages");

    relay.cut();
    await waitFor(async () => (await subscribers()) === 0, 5_000, "the cut noticed");
    for (const text of ["three", "four", "five", "six"]) await publish(server.url, text);
    await waitFor(() => opens === 2, 5_000, "the reconnect");
    await waitFor(() => seen.length === 5, 5_000, "the notice and two messages");

    relay.cut();
    await waitFor(async () => (await subscribers()) === 0, 5_000, "the second cut noticed");
    await publish(server.url, "seven"); // the history drops 5; the client has 6
    await waitFor(() => opens === 3, 5_000, "the second reconnect");
    await waitFor(() => seen.length === 6, 5_000, "seven");

    assert.deepEqual(seen, [
      ["message", "1", "one"],
      ["message", "2", "two"],
      ["missed", { after: "2", through: "4" }],
      ["message", "5", "five"],
      ["message", "6", "six"],
      ["message", "7", "seven"],
    ]);
    assert.match(relay.requests[1], /\r\nlast-event-id: 2\r\n/i, relay.requests[1]);
    assert.match(relay.requests[2], /\r\nlast-event-id: 6\r\n/i, relay.requests[2]);
  } finally {
    source.close();
    await relay.close();
  }
});
