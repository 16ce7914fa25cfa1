// A browser refused at capacity comes back by itself.
//
// The WHATWG spec has an EventSource fail for good on any status but 200, so a `503`
// would leave the page disconnected until it is reloaded. The server instead answers a
// refused event-stream request with `200 text/event-stream`, a `retry:` and the end of
// the stream, which an EventSource treats as a dropped connection. This test checks
// that in a real Chromium: a page opens streams up to the cap, one more is refused,
// one of the first closes, and the refused EventSource reconnects on its own and
// receives a message published afterwards.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startServer, waitFor, launchChromium } from "./server.mjs";

// The stream cap. The test's own requests (stats and the publish) count against the
// request budget instead, so they are served while the streams are at the cap.
const MAX_STREAMS = 3;
let server;
let context;
// The test's own connection, kept alive.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, target, body) {
  return new Promise((resolve, reject) => {
    const call = http.request(`${server.url}${target}`, { method, agent }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => { text += chunk; });
      response.on("end", () => resolve({ status: response.statusCode, text }));
    });
    call.on("error", reject);
    call.end(body);
  });
}

const stats = async () => JSON.parse((await request("GET", "/stats")).text);
const refusals = () => (server.log().match(/refused: 503 Service Unavailable: the server is full/g) ?? []).length;

before(async () => {
  server = await startServer([
    "--max-clients", String(MAX_STREAMS),
    // The browser is one client address: here its share is above the cap, so that the
    // cap is what refuses it (a share equal to the cap would refuse it first).
    "--max-streams-per-client", String(MAX_STREAMS + 1),
    "--admission-wait-ms", "100",
    "--retry-ms", "300",
    "--client-check-ms", "200",
    "--head-timeout-s", "60",
  ]);
  context = await launchChromium("refused");
});

after(async () => {
  await context?.close();
  agent.destroy();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, "server must exit 0 on SIGINT");
});

test("an EventSource refused at capacity reconnects by itself once a slot frees", async () => {
  assert.equal((await stats()).subscribers, 0);

  // An empty page of the server's origin, served by the test rather than the server, so
  // loading it costs no slot and the page's streams are same-origin.
  const page = await context.newPage();
  await page.route(`${server.url}/blank`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>blank</title>" }));
  await page.goto(`${server.url}/blank`);

  await page.evaluate(() => {
    window.sources = [];
    window.open = (name) => {
      const source = new EventSource("/subscribe");
      const record = { name, source, opens: 0, errors: 0, messages: [] };
      source.onopen = () => { record.opens += 1; };
      source.onerror = () => { record.errors += 1; };
      source.onmessage = (event) => { record.messages.push(event.data); };
      window.sources.push(record);
    };
    window.view = () => window.sources.map(({ name, source, opens, errors, messages }) =>
      ({ name, state: source.readyState, opens, errors, messages }));
  });

  // Fill the server: three streams.
  for (const name of ["first", "second", "third"]) {
    await page.evaluate((name) => window.open(name), name);
    await page.waitForFunction((name) => window.sources.find((s) => s.name === name).source.readyState === 1,
                               name, { timeout: 5_000 });
  }

  // One more: refused (after the short admission wait), and it keeps trying.
  await page.evaluate(() => window.open("late"));
  await waitFor(() => refusals() >= 2, 5_000, "the late stream to be refused twice");
  assert.match(server.log(), new RegExp(`refused: 503 Service Unavailable: the server is full \\(${MAX_STREAMS} streams\\); answered 200 OK`));
  let late = (await page.evaluate(() => window.view())).find((s) => s.name === "late");
  assert.notEqual(late.state, 2, `a refused EventSource must not be closed for good: ${JSON.stringify(late)}`);
  assert.ok(late.errors >= 1, JSON.stringify(late));

  // One of the first streams goes away; the server notices, and the late one gets in.
  assert.equal((await stats()).streams_served, 3, "refusals are not counted as streams served");
  await page.evaluate(() => window.sources[0].source.close());
  await waitFor(async () => {
    const now = await stats();
    return now.streams_served === 4 && now.subscribers === 3;
  }, 10_000, "the late stream to take the freed slot");

  const published = await request("POST", "/publish", "after the refusal");
  assert.equal(published.status, 202, published.text);
  await page.waitForFunction(() => window.sources.find((s) => s.name === "late").messages.includes("after the refusal"),
                             null, { timeout: 5_000 });
  late = (await page.evaluate(() => window.view())).find((s) => s.name === "late");
  assert.equal(late.state, 1, JSON.stringify(late));
  assert.deepEqual(late.messages, ["after the refusal"]);
  await page.close();
});
