// Authorization with clients and tokens nobody on the project wrote: tokens minted by
// the npm `jsonwebtoken` library, the npm `eventsource` client with the token in the
// query, and Chromium following a private topic with the cookie from the demo page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import jwt from "jsonwebtoken";
import { EventSource } from "eventsource";
import { startServer, waitFor, launchChromium } from "./server.mjs";

const SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e";
let server;
// An app on another origin (another port of 127.0.0.1), listed with --allow-origin.
let app;
let appPort;

// What an app's backend does to let Alice read her own topics and publish to users.
const mint = (claims, options = {}) =>
  jwt.sign(claims, SECRET, { algorithm: "HS256", expiresIn: "1h", ...options });
const alice = () => mint({ sub: "alice", subscribe: ["users/{sub}/*"], publish: ["users/*"] });

before(async () => {
  app = http.createServer((request, response) => {
    response.writeHead(200, { "Content-Type": "text/html" });
    response.end("<!doctype html><title>app</title>");
  });
  await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
  appPort = app.address().port;
  server = await startServer(["--auth-secret", SECRET, "--public", "default", "--retry-ms", "200",
                              "--allow-origin", `http://127.0.0.1:${appPort}`]);
});

after(async () => {
  await new Promise((resolve) => app?.close(resolve));
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, "server must exit 0 on SIGINT");
  assert.doesNotMatch(server.log(), /eyJ/, "no token may reach the log");
});

async function publishAs(token, topic, text) {
  const response = await fetch(`${server.url}/publish?topic=${encodeURIComponent(topic)}`, {
    method: "POST", body: text, headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function subscribeStatus(topic, headers = {}) {
  const abort = new AbortController();
  const response = await fetch(`${server.url}/subscribe?topic=${encodeURIComponent(topic)}`,
                               { headers, signal: abort.signal });
  abort.abort();
  return { status: response.status, challenge: response.headers.get("www-authenticate") };
}

test("tokens from a JWT library are checked: 401, 403 and 202 by the rules", async () => {
  assert.deepEqual(await subscribeStatus("users/alice/inbox"), { status: 401, challenge: "Bearer" });
  const bearer = (token) => ({ Authorization: `Bearer ${token}` });
  assert.equal((await subscribeStatus("users/alice/inbox", bearer(alice()))).status, 200);
  assert.equal((await subscribeStatus("users/bob/inbox", bearer(alice()))).status, 403);
  const invalid = [
    jwt.sign({ subscribe: ["*"] }, "another-secret-another-secret-another", { algorithm: "HS256", expiresIn: "1h" }),
    mint({ subscribe: ["*"] }, { expiresIn: -60 }),
    mint({ subscribe: ["*"] }, { algorithm: "HS384" }),
    mint({ subscribe: ["*"] }, { notBefore: 600 }),
    jwt.sign({ subscribe: ["*"], exp: 9999999999 }, null, { algorithm: "none" }),
  ];
  for (const token of invalid) {
    assert.deepEqual(await subscribeStatus("users/alice/inbox", bearer(token)),
                     { status: 401, challenge: 'Bearer error="invalid_token"' });
  }
  // A token without exp is refused too: every token must expire.
  const forever = jwt.sign({ subscribe: ["*"] }, SECRET, { algorithm: "HS256" });
  assert.equal((await subscribeStatus("users/alice/inbox", bearer(forever))).status, 401);

  assert.equal((await publishAs(null, "users/alice/inbox", "x")).status, 401);
  assert.equal((await publishAs(alice(), "rooms/lobby", "x")).status, 403);
  const accepted = await publishAs(alice(), "users/alice/inbox", "x");
  assert.equal(accepted.status, 202, accepted.text);
  assert.match(accepted.text, /^\{"id": "\d+", "subscribers": \d+\}/);
});

test("the npm eventsource client follows a private topic with the token in the query", async () => {
  const source = new EventSource(`${server.url}/subscribe?topic=users/alice/inbox&token=${alice()}`);
  const received = [];
  source.addEventListener("message", (event) => received.push(event.data));
  try {
    await waitFor(() => source.readyState === EventSource.OPEN, 5_000, "the stream to open");
    const publisher = mint({ publish: ["users/*"] });
    assert.equal((await publishAs(publisher, "users/bob/inbox", "for bob")).status, 202);
    assert.equal((await publishAs(publisher, "users/alice/inbox", "for alice")).status, 202);
    await waitFor(() => received.length >= 1, 5_000, "alice's message");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(received, ["for alice"]);
  } finally {
    source.close();
  }
});

test("Chromium follows a private topic with the cookie, and sees 401 and 403 on the demo page", async () => {
  const context = await launchChromium("auth");
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    await page.goto(`${server.url}/`);
    // The public broadcast panel works without a token.
    await page.waitForFunction(() => document.getElementById("chat-state").textContent === "OPEN");

    await page.click("#private-anonymous");
    await page.waitForFunction(() => document.getElementById("private-result").textContent.includes("401"));

    await page.fill("#private-token", alice());
    await page.fill("#private-topic", "users/bob/inbox");
    await page.click("#private-follow");
    await page.waitForFunction(() => document.getElementById("private-result").textContent.includes("403"));
    assert.equal(await page.locator("#private-state").innerText(), "CLOSED");

    await page.fill("#private-topic", "users/alice/inbox");
    await page.click("#private-follow");
    await page.waitForFunction(() => document.getElementById("private-state").textContent === "OPEN");
    const cookies = await context.cookies(server.url);
    assert.ok(cookies.some((cookie) => cookie.name === "sse_token"), JSON.stringify(cookies));

    assert.equal((await publishAs(mint({ publish: ["*"] }), "users/alice/inbox", "hello alice")).status, 202);
    await page.waitForFunction(() => document.getElementById("private-log").innerText.includes("hello alice"));
    // Publishing from the page with the pasted token.
    await page.click("#private-publish");
    await page.waitForFunction(() => document.getElementById("private-log").innerText.includes("private message at"));
    assert.match(await page.locator("#private-result").innerText(), /^202 Accepted/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

/// Opens an EventSource in `page` and records what happens to it under `window[name]`.
async function follow(page, name, url, withCredentials = false) {
  await page.evaluate(({ name, url, withCredentials }) => {
    const record = { opens: 0, errors: 0, messages: [] };
    record.source = new EventSource(url, { withCredentials });
    record.source.onopen = () => { record.opens += 1; };
    record.source.onerror = () => { record.errors += 1; };
    record.source.onmessage = (event) => record.messages.push(event.data);
    window[name] = record;
  }, { name, url, withCredentials });
}

const state = (page, name) => page.evaluate((name) => {
  const { opens, errors, messages, source } = window[name];
  return { opens, errors, messages, readyState: source.readyState };
}, name);

test("a stream ends with its token; the browser comes back with the refreshed cookie, or stops", async () => {
  const context = await launchChromium("auth-refresh");
  try {
    const page = await context.newPage();
    await page.route(`${server.url}/blank`, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>blank</title>" }));
    await page.goto(`${server.url}/blank`);
    // Expired three seconds ago: still inside the 5 s leeway, so the stream opens and
    // ends about two seconds later.
    const expiring = () => mint({ sub: "alice", subscribe: ["users/{sub}/*"] }, { expiresIn: -3 });
    await context.addCookies([{ name: "sse_token", value: expiring(), url: server.url }]);
    await follow(page, "refreshed", "/subscribe?topic=users/alice/inbox");
    await page.waitForFunction(() => window.refreshed.opens === 1);
    // The app refreshes the cookie before the stream ends: the browser's reconnect carries it.
    await context.addCookies([{ name: "sse_token", value: alice(), url: server.url }]);
    await page.waitForFunction(() => window.refreshed.opens >= 2, null, { timeout: 10_000 });
    assert.equal((await publishAs(mint({ publish: ["*"] }), "users/alice/inbox", "after refresh")).status, 202);
    await page.waitForFunction(() => window.refreshed.messages.includes("after refresh"));
    assert.equal((await state(page, "refreshed")).readyState, 1);

    // Without a fresh token (no cookie, a query token that expires), the reconnect gets
    // 401, and the browser stops for good.
    await context.clearCookies();
    await follow(page, "stale", `/subscribe?topic=users/alice/inbox&token=${expiring()}`);
    await page.waitForFunction(() => window.stale.opens === 1);
    await page.waitForFunction(() => window.stale.source.readyState === 2, null, { timeout: 10_000 });
    assert.deepEqual((await state(page, "stale")).messages, []);
  } finally {
    await context.close();
  }
});

test("a page on a listed origin follows a private topic with its cookie; an unlisted one cannot", async () => {
  const context = await launchChromium("auth-cors");
  try {
    await context.addCookies([{ name: "sse_token", value: alice(), url: server.url }]);
    const listed = await context.newPage();
    await listed.goto(`http://127.0.0.1:${appPort}/`);
    await follow(listed, "inbox", `${server.url}/subscribe?topic=users/alice/inbox`, true);
    await listed.waitForFunction(() => window.inbox.source.readyState === 1, null, { timeout: 10_000 });
    assert.equal((await publishAs(mint({ publish: ["*"] }), "users/alice/inbox", "across origins")).status, 202);
    await listed.waitForFunction(() => window.inbox.messages.includes("across origins"));

    // An origin that is not listed gets `Access-Control-Allow-Origin: *` and no
    // credentials: a credentialed stream is withheld from the page by the browser, even
    // with a valid token in the query; without credentials, the query token works.
    const unlisted = await context.newPage();
    await unlisted.goto(`http://localhost:${appPort}/`);
    const url = `${server.url}/subscribe?topic=users/alice/inbox&token=${alice()}`;
    await follow(unlisted, "credentialed", url, true);
    await follow(unlisted, "plain", url, false);
    await unlisted.waitForFunction(() => window.credentialed.source.readyState === 2, null, { timeout: 10_000 });
    await unlisted.waitForFunction(() => window.plain.source.readyState === 1, null, { timeout: 10_000 });
    assert.equal((await state(unlisted, "credentialed")).opens, 0);
  } finally {
    await context.close();
  }
});
