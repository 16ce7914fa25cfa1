// A restart behind nginx that does not stampede: two instances share a log in a real
// Redis behind deploy/nginx.conf, with the second as nginx's backup so that all 1,000
// clients (the npm eventsource package, over TLS) start on the first. Messages are
// published to the second the whole time. The first gets SIGTERM, as `systemctl stop`
// sends it, and ends its streams after a drain window of WINDOW_S; then:
// - it exits 0, and every client reconnects, by itself, through nginx, to the second;
// - the reconnects are spread: no one second holds more than a fifth of them;
// - none is refused (each client connects exactly twice, both times answered 200, and
//   the second instance counts no refusal);
// - every message answered 202 reaches every client exactly once, in order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { startServer, waitFor } from "./server.mjs";
import { startNginx, startRedis } from "./nginx.mjs";

// The throwaway certificate of nginx.mjs is self-signed; this process only talks to it.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

const CLIENTS = 1000;
const RETRY_MS = 1000;
const SPREAD_S = 10; // the default --drain-spread-s, not passed
// The drain window: the streams stay open this long after SIGTERM, then end.
const WINDOW_S = 1;
let redis;
let a;
let b;
let nginx;

before(async () => {
  redis = await startRedis();
  // Open on purpose (--open): the test publishes without a token.
  const args = ["--redis", redis.url, "--redis-key", "e2e:drain", "--trusted-proxy", "127.0.0.1",
                "--open", "--retry-ms", String(RETRY_MS), "--drain-window-s", String(WINDOW_S)];
  [a, b] = [await startServer(args), await startServer(args)];
  nginx = await startNginx([new URL(a.url).port], { backupPorts: [new URL(b.url).port],
                                                    workerConnections: 4 * CLIENTS,
                                                    perClientConnections: 2 * CLIENTS });
});

after(async () => {
  await nginx?.stop();
  for (const instance of [a, b]) await instance?.stop();
  await redis?.remove();
});

const stats = async (instance) => (await fetch(`${instance.url}/stats`)).json();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// One sample of an instance's /metrics.
async function metric(instance, series) {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line, `no ${series} in:\n${text}`);
  return Number(line.split(" ")[1]);
}

/// An EventSource whose every connection attempt is recorded: when, and the answer.
function follow(url) {
  const client = { connects: [], statuses: [], received: [] };
  const recordingFetch = async (target, init) => {
    client.connects.push(Date.now());
    const response = await fetch(target, init);
    client.statuses.push(response.status);
    return response;
  };
  client.source = new EventSource(url, { fetch: recordingFetch });
  client.source.onmessage = (event) => client.received.push([event.lastEventId, event.data]);
  return client;
}

test("SIGTERM with 1,000 clients: spread reconnects to the other instance, none refused, nothing lost or repeated", async () => {
  await waitFor(async () => (await stats(a)).redis.connected && (await stats(b)).redis.connected,
                10_000, "both instances to follow the log");
  const clients = [];
  try {
    // In batches, so that 1,000 TLS handshakes do not all land at once.
    for (let batch = 0; batch < CLIENTS / 100; batch += 1) {
      for (let n = 0; n < 100; n += 1) clients.push(follow(`${nginx.url}/subscribe?topic=drain`));
      await waitFor(async () => (await stats(a)).subscribers === clients.length, 20_000,
                    `${clients.length} subscribers on the first instance`);
    }
    assert.equal((await stats(b)).subscribers, 0, "the backup holds nobody yet");

    // Publishes to the second instance, one at a time, five a second, until told to
    // stop. (Faster would measure this test's own process more than the server: at
    // 1,000 clients every message is 1,000 TLS records for one Node.js thread to read,
    // and a thread that falls behind fires its reconnect timers late, all together.)
    const accepted = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 0; publishing; n += 1) {
        const response = await fetch(`${b.url}/publish?topic=drain`, { method: "POST", body: `m${n}` });
        const body = await response.text();
        if (response.status === 202) accepted.push([JSON.parse(body).id, `m${n}`]);
        await sleep(200);
      }
    })();
    await waitFor(() => accepted.length >= 10, 10_000, "some messages before the restart");

    const terminated = Date.now();
    const exit = await a.stop("SIGTERM");
    const exitedAfter = Date.now() - terminated;
    assert.deepEqual(exit, { code: 0, signal: null }, "the first instance exits 0 on SIGTERM");
    assert.ok(exitedAfter < WINDOW_S * 1000 + 3_000, `exited ${exitedAfter} ms after SIGTERM`);

    await waitFor(() => clients.every((client) => client.connects.length >= 2),
                  (WINDOW_S * 1000 + RETRY_MS + SPREAD_S * 1000) * 2, "every client to reconnect");
    await waitFor(async () => (await stats(b)).subscribers === CLIENTS, 10_000,
                  "every client on the second instance");
    await sleep(500);
    publishing = false;
    await publisher;
    const ids = accepted.map(([id]) => id);
    await waitFor(() => clients.every((client) => client.received.length >= ids.length), 20_000,
                  "every client to receive every message");

    // None refused: exactly two connections each, both answered 200; the second
    // instance admitted all 1,000 and refused nobody.
    for (const [index, client] of clients.entries()) {
      assert.equal(client.connects.length, 2, `client ${index} connected ${client.connects.length} times`);
      assert.deepEqual(client.statuses, [200, 200], `client ${index}`);
    }
    assert.equal(await metric(b, 'sse_streams_total{stream="subscribe"}'), CLIENTS);
    for (const reason of ["full", "waiting_room_full", "draining"]) {
      assert.equal(await metric(b, `sse_streams_refused_total{reason="${reason}"}`), 0, reason);
    }

    // Spread: count the reconnects in every one-second window (sliding, 100 ms steps).
    const times = clients.map((client) => client.connects[1] - terminated).sort((x, y) => x - y);
    assert.ok(times[0] >= WINDOW_S * 1000 + RETRY_MS - 100, `first reconnect ${times[0]} ms after SIGTERM`);
    let busiest = 0;
    for (let start = 0; start <= times.at(-1); start += 100) {
      busiest = Math.max(busiest, times.filter((t) => t >= start && t < start + 1000).length);
    }
    const perSecond = {};
    for (const t of times) perSecond[Math.floor(t / 1000)] = (perSecond[Math.floor(t / 1000)] ?? 0) + 1;
    console.log(`reconnects in each second after SIGTERM: ${JSON.stringify(perSecond)}`);
    console.log(`reconnects from ${times[0]} to ${times.at(-1)} ms after SIGTERM; ` +
                `busiest second: ${busiest} of ${CLIENTS}; ${ids.length} messages`);
    assert.ok(busiest <= CLIENTS / 5, `${busiest} reconnects in one second`);

    // Every message answered 202, once each, in order, on every client.
    for (const [index, client] of clients.entries()) {
      assert.deepEqual(client.received, accepted, `client ${index}`);
    }
  } finally {
    for (const client of clients) client.source.close();
  }
});
