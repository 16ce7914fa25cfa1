// The npm `eventsource` package, an EventSource written by people outside this project:
// it must reconnect by itself after a cut, send Last-Event-ID, and get what it missed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { startServer, publish, waitFor, startRelay } from "./server.mjs";

let server;

before(async () => {
  // A short retry so the client reconnects quickly after the cut.
  server = await startServer(["--interval-ms", "50", "--retry-ms", "200"]);
});

after(async () => {
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, "server must exit 0 on SIGINT");
});

test("reconnects with Last-Event-ID after a cut and receives the missed messages", async () => {
  const relay = await startRelay(server.url);
  const source = new EventSource(`${relay.url}/subscribe`);
  const received = [];
  let opens = 0;
  source.addEventListener("open", () => { opens += 1; });
  source.addEventListener("message", (event) => received.push([event.lastEventId, event.data]));
  source.addEventListener("chat", (event) => received.push([event.lastEventId, `chat:${event.data}`]));
  try {
    await waitFor(() => opens === 1, 5_000, "the first open");
    await waitFor(async () => (await (await fetch(`${server.url}/stats`)).json()).subscribers === 1, 5_000, "subscriber");
    await publish(server.url, "one");
    await publish(server.url, "two\r\nlines");
    await publish(server.url, "three", "chat");
    await waitFor(() => received.length === 3, 5_000, "three messages");

    relay.cut();
    // Published while the client is cut off: it must get these on reconnect.
    await publish(server.url, "four");
    await publish(server.url, "five");
    await waitFor(() => opens === 2, 5_000, "the reconnect");
    await waitFor(() => received.length === 5, 5_000, "the replayed messages");
    await publish(server.url, "six");
    await waitFor(() => received.length === 6, 5_000, "a live message after the replay");

    assert.deepEqual(received, [
      ["1", "one"], ["2", "two\nlines"], ["3", "chat:three"], ["4", "four"], ["5", "five"], ["6", "six"],
    ]);
    const reconnect = relay.requests.at(-1);
    assert.match(reconnect, /^GET \/subscribe HTTP\/1\.1\r\n/);
    assert.match(reconnect, /\r\nlast-event-id: 3\r\n/i, reconnect);
  } finally {
    source.close();
    await relay.close();
  }
});

test("the counter's close event, then 204 on reconnect stops the client for good", async () => {
  const source = new EventSource(`${server.url}/`);
  const numbers = [];
  let closeEvents = 0;
  source.addEventListener("message", (event) => numbers.push(event.data));
  source.addEventListener("close", () => { closeEvents += 1; });
  try {
    // We deliberately do not close on the close event: the client reconnects with
    // Last-Event-ID: 5, gets 204, and must give up (readyState CLOSED).
    await waitFor(() => source.readyState === EventSource.CLOSED, 10_000, "the client to stop");
    assert.deepEqual(numbers, [1, 2, 3, 4, 5].map((n) => `This is event number ${n}`));
    assert.equal(closeEvents, 1);
  } finally {
    source.close();
  }
});
