// One Mercure hub served by two instances sharing a log in a real Redis, behind nginx
// with TLS and HTTP/2, as docs/deploying.md runs them. Chromium opens
// eight EventSources on the https origin (nginx spreads them over both instances), with
// the token in the cookie the spec recommends (`__Secure-mercure_access_token`, which a
// browser keeps for https only); tokens are minted by the npm `jsonwebtoken` package.
// A private update published to either instance reaches every granted stream once,
// whatever instance holds it, and never an anonymous one (the npm `eventsource` client); a stream resumed with
// `last_event_id` through nginx replays what it missed, from whichever instance it lands on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import jwt from "jsonwebtoken";
import { EventSource } from "eventsource";
import { startServer, waitFor, launchChromium } from "./server.mjs";
import { startNginx, startRedis } from "./nginx.mjs";

const KEY = "e2e-cluster-mercure-key-e2e-cluster!!";
const STREAMS = 8;
const TOPIC = "https://example.com/rooms/salle à manger";
let redis;
let instances;
let nginx;

const mint = (actions, topics) => jwt.sign({
  sub: "e2e", client_id: "e2e", jti: String(Math.random()),
  authorization_details: [{ type: "https://mercure.rocks/authorization-detail", actions,
                            topics: topics.map((match) => ({ match })) }],
}, KEY, { algorithm: "HS256", header: { typ: "at+jwt" }, expiresIn: "1h",
          issuer: "https://localhost", audience: "https://localhost/.well-known/mercure" });

before(async () => {
  redis = await startRedis();
  // --open: the project's own /publish is open here (this test is about the Mercure hub,
  // whose publishes --mercure-key checks); behind a proxy, the server wants that said.
  const args = ["--redis", redis.url, "--redis-key", "e2e:mercure", "--trusted-proxy", "127.0.0.1",
                "--retry-ms", "300", "--mercure-key", KEY, "--open"];
  instances = [await startServer(args), await startServer(args)];
  nginx = await startNginx(instances.map((instance) => new URL(instance.url).port));
});

after(async () => {
  await nginx?.stop();
  for (const instance of instances ?? []) {
    const exit = await instance.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.doesNotMatch(instance.log(), /eyJ/, "no token may reach the log");
  }
  await redis?.remove();
});

const stats = async (instance) => (await fetch(`${instance.url}/stats`)).json();

async function publishTo(instance, fields) {
  const response = await fetch(`${instance.url}/.well-known/mercure`, {
    method: "POST", body: new URLSearchParams(fields),
    headers: { Authorization: `Bearer ${mint(["publish"], ["*"])}` },
  });
  return { status: response.status, id: await response.text() };
}

test("two instances over Redis behind nginx serve one Mercure hub to Chromium", async () => {
  const [a, b] = instances;
  await waitFor(async () => (await stats(a)).redis.connected && (await stats(b)).redis.connected,
                10_000, "both instances to follow the log");
  const context = await launchChromium("mercure-cluster", { ignoreHTTPSErrors: true });
  try {
    await context.addCookies([{ name: "__Secure-mercure_access_token", value: mint(["subscribe"], [TOPIC]),
                                url: nginx.url, secure: true, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    await page.route(`${nginx.url}/blank`, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>blank</title>" }));
    await page.goto(`${nginx.url}/blank`);
    await page.evaluate(({ count, topic }) => {
      window.received = [];
      window.sources = [];
      const url = `/.well-known/mercure?match=${encodeURIComponent(topic)}`;
      for (let index = 0; index < count; index += 1) {
        const source = new EventSource(url);
        window.received[index] = [];
        source.onmessage = (event) => window.received[index].push([event.lastEventId, event.data]);
        window.sources.push(source);
      }
    }, { count: STREAMS, topic: TOPIC });
    await page.waitForFunction(() => window.sources.every((source) => source.readyState === 1), null,
                               { timeout: 10_000 });
    const [onA, onB] = [(await stats(a)).streams_open, (await stats(b)).streams_open];
    assert.ok(onA > 0 && onB > 0, `streams: ${onA} on a, ${onB} on b`);
    // And one subscriber without a token, the npm client, straight to the second instance.
    const anonymous = new EventSource(`${b.url}/.well-known/mercure?match=${encodeURIComponent(TOPIC)}`);
    const anonymousGot = [];
    anonymous.onmessage = (event) => anonymousGot.push([event.lastEventId, event.data]);
    await waitFor(() => anonymous.readyState === EventSource.OPEN, 5_000, "the anonymous stream");

    const secret = await publishTo(a, [["topic", TOPIC], ["data", "private, from a"], ["private", "on"]]);
    const open = await publishTo(b, [["topic", TOPIC], ["data", "public, from b"]]);
    assert.equal(secret.status, 200);
    assert.equal(open.status, 200);
    const granted = [[secret.id, "private, from a"], [open.id, "public, from b"]];
    await page.waitForFunction(() => window.received.every((got) => got.length >= 2), null, { timeout: 10_000 });
    const received = await page.evaluate(() => window.received);
    for (const got of received) assert.deepEqual(got, granted);
    await waitFor(() => anonymousGot.length >= 1, 5_000, "the public update");
    anonymous.close();
    assert.deepEqual(anonymousGot, [[open.id, "public, from b"]]);

    // A new stream through nginx, resumed after the private update: the public one again.
    const resumed = await page.evaluate(async ({ topic, after }) => {
      const url = `/.well-known/mercure?match=${encodeURIComponent(topic)}&last_event_id=${encodeURIComponent(after)}`;
      const response = await fetch(url);
      const reader = response.body.getReader();
      let text = "";
      while (!/data: public, from b\n\n/.test(text)) {
        text += new TextDecoder().decode((await reader.read()).value);
      }
      reader.cancel();
      return { cursor: response.headers.get("mercure-last-event-id"), text };
    }, { topic: TOPIC, after: secret.id });
    assert.equal(resumed.cursor, secret.id);
    assert.match(resumed.text, new RegExp(`id: ${open.id}\ndata: public, from b\n\n`));
  } finally {
    await context.close();
  }
});
