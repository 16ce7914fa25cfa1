// Authorization with clients and tokens nobody on the project wrote: tokens minted by
// the npm `jsonwebtoken` library, the npm `eventsource` client with the token in the
// query, and Chromium following a private topic with the cookie from the demo page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import jwt from "jsonwebtoken";
import { EventSource } from "eventsource";
import { startServer, waitFor, launchChromium } from "./server.mjs";

const SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e";
let server;

// What an app's backend does to let Alice read her own topics and publish to users.
const mint = (claims, options = {}) =>
  jwt.sign(claims, SECRET, { algorithm: "HS256", expiresIn: "1h", ...options });
const alice = () => mint({ sub: "alice", subscribe: ["users/{sub}/*"], publish: ["users/*"] });

before(async () => {
  server = await startServer(["--auth-secret", SECRET, "--public", "default", "--retry-ms", "200"]);
});

after(async () => {
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
