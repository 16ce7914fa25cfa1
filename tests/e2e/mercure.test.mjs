// The Mercure hub with clients and tokens nobody on the project wrote: tokens minted by
// the npm `jsonwebtoken` library (typ at+jwt, iss, aud, exp as a Mercure issuer mints
// them), the npm `eventsource` client sending its token in `Authorization: Bearer`, and
// Chromium's own EventSource with the token in a cookie.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import jwt from "jsonwebtoken";
import { EventSource } from "eventsource";
import { startServer, waitFor, launchChromium } from "./server.mjs";

const KEY = "e2e-mercure-key-e2e-mercure-key-e2e!";
const HUB_URL = "https://localhost/.well-known/mercure";
const COOKIE = "mercureAuthorization";
const DETAIL = "https://mercure.rocks/authorization-detail";
let server;

const mint = (details, options = {}) =>
  jwt.sign({ authorization_details: details, sub: "e2e", client_id: "e2e", jti: String(Math.random()) }, KEY, {
    algorithm: "HS256", header: { typ: "at+jwt" }, expiresIn: "1h",
    issuer: "https://localhost", audience: HUB_URL, ...options,
  });
const grant = (actions, ...topics) => ({ type: DETAIL, actions, topics: topics.map((match) => ({ match })) });
const publisher = () => mint([grant(["publish"], "*")]);

before(async () => {
  server = await startServer(["--mercure-key", KEY, "--mercure-cookie", COOKIE, "--retry-ms", "200", "--mercure-subscriptions"]);
});

after(async () => {
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, "server must exit 0 on SIGINT");
  assert.doesNotMatch(server.log(), /eyJ/, "no token may reach the log");
});

async function publish(token, fields) {
  const body = new URLSearchParams();
  for (const [name, value] of fields) body.append(name, value);
  const response = await fetch(`${server.url}/.well-known/mercure`, {
    method: "POST", body, headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

function hubUrl(params) {
  const url = new URL(`${server.url}/.well-known/mercure`);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url;
}

test("tokens from a JWT library are checked as the spec says: 401, 403, 400 and 200", async () => {
  const fields = [["topic", "https://example.com/books/1"], ["data", "x"]];
  const none = await publish(null, fields);
  assert.equal(none.status, 401);
  const metadata = 'resource_metadata="https://localhost/.well-known/oauth-protected-resource/.well-known/mercure"';
  assert.equal(none.headers.get("www-authenticate"), `Bearer ${metadata}`);
  const invalid = [
    jwt.sign({ authorization_details: [grant(["publish"], "*")] }, KEY,
             { algorithm: "HS256", expiresIn: "1h", issuer: "https://localhost", audience: HUB_URL }),
    mint([grant(["publish"], "*")], { audience: "https://other.example/.well-known/mercure" }),
    mint([grant(["publish"], "*")], { issuer: "https://evil.example" }),
    mint([grant(["publish"], "*")], { expiresIn: -60 }),
    mint([grant(["publish"], "*")], { notBefore: 600 }),
    mint([grant(["publish"], "*")], { algorithm: "HS384" }),
    mint([grant(["publish"], "*"), { type: DETAIL, actions: ["publish"], topics: [{ match: "a", match_type: "regexp" }] }]),
  ];
  for (const token of invalid) {
    const answer = await publish(token, fields);
    assert.equal(answer.status, 401, answer.text);
    assert.equal(answer.headers.get("www-authenticate"), `Bearer error="invalid_token", ${metadata}`);
  }
  const narrow = await publish(mint([grant(["publish"], "https://example.com/books/2")]), fields);
  assert.equal(narrow.status, 403);
  assert.equal(narrow.headers.get("www-authenticate"), `Bearer error="insufficient_scope", ${metadata}`);
  // The metadata says which aud and cookie to use.
  const document = await (await fetch(`${server.url}/.well-known/oauth-protected-resource/.well-known/mercure`)).json();
  assert.equal(document.resource, HUB_URL);
  assert.equal(document.mercure_cookie, COOKIE);
  const reserved = await publish(publisher(), [["topic", "/.well-known/mercure/subscriptions/x"]]);
  assert.equal(reserved.status, 400);
  const accepted = await publish(publisher(), fields);
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal(accepted.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.match(accepted.text, /^urn:uuid:[0-9a-f-]{36}$/);
});

test("the npm eventsource client subscribes with a Bearer header and reads private updates", async () => {
  const reader = mint([grant(["subscribe"], "https://example.com/users/42/books/1")]);
  const withToken = (token) => ({
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }),
  });
  const url = hubUrl([["match_urlpattern", "https://example.com/books/:id"]]);
  const granted = new EventSource(url, withToken(reader));
  const anonymous = new EventSource(url);
  const received = { granted: [], anonymous: [] };
  granted.addEventListener("book", (event) => received.granted.push([event.data, event.lastEventId]));
  anonymous.addEventListener("book", (event) => received.anonymous.push([event.data, event.lastEventId]));
  try {
    await waitFor(() => granted.readyState === EventSource.OPEN && anonymous.readyState === EventSource.OPEN,
                  5_000, "both streams to open");
    // The spec's example: the canonical topic is a book, the alternate the user's own.
    const secret = await publish(publisher(), [
      ["topic", "https://example.com/books/1"], ["topic", "https://example.com/users/42/books/1"],
      ["private", "on"], ["type", "book"], ["data", "line one\nline two"], ["id", "urn:e2e:1"]]);
    assert.equal(secret.status, 200, secret.text);
    assert.equal(secret.text, "urn:e2e:1");
    const open = await publish(publisher(), [["topic", "https://example.com/books/2"], ["type", "book"], ["data", "public"]]);
    assert.equal(open.status, 200, open.text);
    await waitFor(() => received.granted.length >= 2 && received.anonymous.length >= 1, 5_000, "the updates");
    assert.deepEqual(received.granted, [["line one\nline two", "urn:e2e:1"], ["public", open.text]]);
    assert.deepEqual(received.anonymous, [["public", open.text]]);
  } finally {
    granted.close();
    anonymous.close();
  }
});

test("reconnecting with Last-Event-ID replays what was missed and answers Mercure-Last-Event-ID", async () => {
  const topic = "https://example.com/replayed";
  const ids = [];
  for (const data of ["one", "two", "three"]) ids.push((await publish(publisher(), [["topic", topic], ["data", data]])).text);
  const abort = new AbortController();
  const response = await fetch(hubUrl([["match", topic]]), { headers: { "Last-Event-ID": ids[0] }, signal: abort.signal });
  assert.equal(response.headers.get("mercure-last-event-id"), ids[0]);
  const reader = response.body.getReader();
  let text = "";
  while (!text.includes("data: three")) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  assert.match(text, new RegExp(`id: ${ids[1]}\ndata: two\n\nid: ${ids[2]}\ndata: three\n\n`));
  assert.doesNotMatch(text, /event: missed/);
  // The npm client asks for everything held, with the query parameter.
  const source = new EventSource(hubUrl([["match", topic], ["last_event_id", "earliest"]]));
  const data = [];
  source.onmessage = (event) => data.push(event.data);
  try {
    await waitFor(() => data.length >= 3, 5_000, "the replay");
    assert.deepEqual(data, ["one", "two", "three"]);
  } finally {
    source.close();
  }
});

test("Chromium subscribes with the cookie, gets private updates and subscription events", async () => {
  const context = await launchChromium("mercure");
  try {
    const page = await context.newPage();
    await page.route(`${server.url}/blank`, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>blank</title>" }));
    await page.goto(`${server.url}/blank`);
    const token = mint([grant(["subscribe"], "https://example.com/inbox", "*")], {});
    await context.addCookies([{ name: COOKIE, value: token, url: server.url, httpOnly: true }]);
    await page.evaluate(() => {
      const url = new URL("/.well-known/mercure", location.href);
      url.searchParams.append("match", "https://example.com/inbox");
      url.searchParams.append("match_urlpattern", "/.well-known/mercure/subscriptions/:type/:match/:subscriber");
      window.record = { messages: [], presence: [], opens: 0 };
      window.source = new EventSource(url);
      window.source.onopen = () => { window.record.opens += 1; };
      window.source.onmessage = (event) => window.record.messages.push(event.data);
      window.source.addEventListener("mercure", (event) => window.record.presence.push(JSON.parse(event.data)));
    });
    await page.waitForFunction(() => window.record.opens === 1);
    const answer = await publish(publisher(), [["topic", "https://example.com/inbox"], ["private", ""], ["data", "for the cookie"]]);
    assert.equal(answer.status, 200, answer.text);
    await page.waitForFunction(() => window.record.messages.includes("for the cookie"));
    // Another subscriber arrives and leaves: the page sees both, as the spec's documents.
    const guest = new EventSource(hubUrl([["match", "https://example.com/guest"]]));
    await waitFor(() => guest.readyState === EventSource.OPEN, 5_000, "the guest");
    guest.close();
    await page.waitForFunction(
      () => window.record.presence.some((doc) => doc.match === "https://example.com/guest" && doc.active === false),
      null, { timeout: 10_000 });
    const arrived = await page.evaluate(() => window.record.presence.find((doc) => doc.match === "https://example.com/guest"));
    assert.equal(arrived.type, "subscription");
    assert.equal(arrived.match_type, "exact");
    assert.match(arrived.subscriber, /^urn:uuid:/);
    assert.equal(arrived.id, `/.well-known/mercure/subscriptions/exact/${encodeURIComponent(arrived.match)}/${encodeURIComponent(arrived.subscriber)}`);
    // The subscriptions API says the same, with the cookie.
    const list = await page.evaluate(async () => {
      const response = await fetch("/.well-known/mercure/subscriptions");
      return { status: response.status, link: response.headers.get("link"), body: await response.json() };
    });
    assert.equal(list.status, 200);
    assert.match(list.link, /rel="mercure"; last-event-id="/);
    assert.equal(list.body.type, "subscriptions");
    assert.ok(list.body.subscriptions.some((doc) => doc.match === "https://example.com/inbox"), JSON.stringify(list.body));
  } finally {
    await context.close();
  }
});
