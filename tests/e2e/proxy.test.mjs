// Behind nginx, as deploy/nginx.conf sets it up: TLS and HTTP/2 for the browser, HTTP/1.1
// to sse-server, which believes the proxy's X-Forwarded-* headers (--trusted-proxy).
// Chromium loads the demo page over https on HTTP/2, opens eight EventSources on that one
// origin (more than the six connections HTTP/1.1 would allow), and all of them receive;
// the page's publish form passes the same-origin check through the proxy. And nginx's
// access log, in the format the file sets, holds no token sent as ?token=. The server is
// token-checked, as docs/deploying.md's recipe runs it (a server behind --trusted-proxy will not
// start open): through the shipped config an anonymous publish is refused, and the admin
// routes (/metrics, /stats, /healthz, /readyz) cannot be reached at all.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { startServer, launchChromium, waitFor } from "./server.mjs";
import { startNginx } from "./nginx.mjs";

const STREAMS = 8;
const TOKEN = "proxy-test-publisher-token";
let server;
let nginx;
let proxyUrl;

before(async () => {
  server = await startServer(["--trusted-proxy", "127.0.0.1", "--token", TOKEN]);
  nginx = await startNginx([new URL(server.url).port]);
  proxyUrl = nginx.url;
});

after(async () => {
  await nginx?.stop();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, "server must exit 0 on SIGINT");
});

test("through nginx on HTTP/2, eight streams on one origin all receive, and the publish form works", async () => {
  const context = await launchChromium("proxy", { ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    await page.goto(`${proxyUrl}/`);
    assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol), "h2");
    // The demo page's own streams are open (counter, clock, broadcast): eight more on top.
    await page.waitForFunction(() => document.getElementById("chat-state").textContent === "OPEN");
    await page.evaluate((count) => {
      window.received = [];
      window.extra = [];
      for (let index = 0; index < count; index += 1) {
        const source = new EventSource(`/subscribe?topic=proxy/${index}`);
        window.received[index] = [];
        source.onmessage = (event) => window.received[index].push(event.data);
        window.extra.push(source);
      }
    }, STREAMS);
    await page.waitForFunction(() => window.extra.every((source) => source.readyState === 1), null,
                               { timeout: 10_000 });
    // Publish to each of the eight topics from the page, through the proxy.
    const statuses = await page.evaluate(async ([count, token]) => {
      const answers = [];
      for (let index = 0; index < count; index += 1) {
        const response = await fetch(`/publish?topic=proxy/${index}`,
                                     { method: "POST", body: `to ${index}`, headers: { Authorization: `Bearer ${token}` } });
        answers.push(response.status);
      }
      return answers;
    }, [STREAMS, TOKEN]);
    assert.deepEqual(statuses, Array(STREAMS).fill(202));
    await page.waitForFunction(() => window.received.every((messages, index) => messages.includes(`to ${index}`)),
                               null, { timeout: 10_000 });
    const received = await page.evaluate(() => window.received);
    received.forEach((messages, index) => assert.deepEqual(messages, [`to ${index}`]));

    // The publish form: its Origin is https://localhost:PORT, which the server accepts
    // as its own only because the trusted proxy says the client used https. It sends
    // the token pasted in the page as Authorization: Bearer.
    await page.fill("#private-token", TOKEN);
    await page.fill("#message", "through the proxy");
    await page.click("#publish");
    await page.waitForFunction(() => document.getElementById("chat-log").innerText.includes("through the proxy"));
    assert.match(await page.locator("#publish-result").innerText(), /^202/);
    assert.deepEqual(pageErrors, []);
    await page.close();
  } finally {
    await context.close();
  }
  // The server's log names the real client (behind the proxy), not just nginx.
  assert.match(server.log(), /\] 127\.0\.0\.1 via 127\.0\.0\.1:\d+ GET /);
});

/// `method` `target` through nginx over HTTP/1.1 (the test's certificate is its own).
/// With `abortAfterHead`, hangs up once the head arrives, as a page leaving a stream does.
const requestThroughProxy = (method, target, { abortAfterHead = false, body } = {}) => new Promise((resolve, reject) => {
  const request = https.request(`${proxyUrl}${target}`, { method, rejectUnauthorized: false }, (response) => {
    if (abortAfterHead) {
      request.destroy();
      resolve(response.statusCode);
      return;
    }
    response.resume();
    response.on("end", () => resolve(response.statusCode));
  });
  request.on("error", reject);
  request.end(body);
});
const getThroughProxy = (target, abortAfterHead = false) => requestThroughProxy("GET", target, { abortAfterHead });

test("through the shipped config an anonymous publish is refused and the admin routes are unreachable", async () => {
  // Anonymous, as curl sends it: no token, no Origin.
  assert.equal(await requestThroughProxy("POST", "/publish?topic=proxy/anonymous", { body: "spam" }), 401);
  for (const path of ["/metrics", "/stats", "/healthz", "/readyz", "/metrics?x=1"]) {
    assert.equal(await getThroughProxy(path), 403, `${path} through nginx`);
  }
  // The server itself still answers them on its own port: nginx is what refuses.
  assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
});

test("nginx's access log, as deploy/nginx.conf sets it, holds no token from the query", async () => {
  const secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWluLXRoZS1xdWVyeQ.c2lnbmF0dXJl";
  assert.equal(await getThroughProxy(`/publish?token=${secret}`), 405);
  assert.equal(await getThroughProxy(`/subscribe?topic=proxy/log&token=${secret}`, true), 200);
  // A stream's line is written when nginx sees the client go.
  await waitFor(() => nginx.accessLog().includes("/subscribe"), 10_000,
                `nginx to log the stream:\n${nginx.accessLog()}`);
  const log = nginx.accessLog();
  assert.match(log, /"GET \/publish HTTP\/1\.1" 405 /);
  assert.ok(!log.includes(secret) && !log.includes("token="), `the access log keeps the token:\n${log}`);
  // And the server's own line for the stream, once nginx has hung up on it, hides it too.
  await waitFor(() => server.log().includes("/subscribe?topic=proxy/log&token=REDACTED"), 10_000,
                `the server to log the stream:\n${server.log()}`);
  assert.ok(!server.log().includes(secret), "the server's log keeps the token");
});
