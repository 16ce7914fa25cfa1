// Two instances sharing one log in a real Redis, behind nginx with TLS and HTTP/2, as the
// docs/deploying.md runs them. Chromium follows a topic with eight EventSources
// on one https origin (nginx spreads them over both instances); then:
// - a message published on either instance reaches all eight;
// - the page's publish form works through the proxy;
// - one instance is killed (SIGKILL) while messages keep being published: its browsers
//   reconnect through nginx to the other and every one of them receives every message
//   that was answered 202, exactly once, in order (Last-Event-ID);
// - Redis is stopped and started again (append-only file on): publishes meanwhile get 503,
//   and again every message answered 202 reaches every browser exactly once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, waitFor, launchChromium } from "./server.mjs";
import { startNginx, startRedis } from "./nginx.mjs";

const STREAMS = 8;
let redis;
let instances;
let nginx;

before(async () => {
  redis = await startRedis();
  // Open on purpose (--open): the test publishes without a token.
  const args = ["--redis", redis.url, "--redis-key", "e2e:cluster", "--trusted-proxy", "127.0.0.1",
                "--open", "--retry-ms", "300"];
  instances = [await startServer(args), await startServer(args)];
  nginx = await startNginx(instances.map((instance) => new URL(instance.url).port));
});

after(async () => {
  await nginx?.stop();
  for (const instance of instances ?? []) await instance.stop();
  await redis?.remove();
});

const stats = async (instance) => (await fetch(`${instance.url}/stats`)).json();

/// One publish straight to an instance: `{ status, id }` (no id unless 202), or
/// `{ status: "refused" }` when nothing listens any more.
async function publishTo(instance, text) {
  try {
    const response = await fetch(`${instance.url}/publish?topic=cluster`, { method: "POST", body: text });
    const body = await response.text();
    return { status: response.status, id: response.status === 202 ? JSON.parse(body).id : null };
  } catch {
    return { status: "refused" };
  }
}

test("two instances over Redis behind nginx: every message answered 202 reaches every browser once, through a crash and a Redis restart", async () => {
  const [a, b] = instances;
  await waitFor(async () => (await stats(a)).redis.connected && (await stats(b)).redis.connected,
                10_000, "both instances to follow the log");
  const context = await launchChromium("cluster", { ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    await page.goto(`${nginx.url}/`);
    assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol), "h2");
    await page.waitForFunction(() => document.getElementById("chat-state").textContent === "OPEN");
    await page.evaluate((count) => {
      window.received = [];
      window.sources = [];
      for (let index = 0; index < count; index += 1) {
        const source = new EventSource("/subscribe?topic=cluster");
        window.received[index] = [];
        source.onmessage = (event) => window.received[index].push([event.lastEventId, event.data]);
        window.sources.push(source);
      }
    }, STREAMS);
    await page.waitForFunction(() => window.sources.every((source) => source.readyState === 1), null,
                               { timeout: 10_000 });
    // nginx's least_conn spread the streams over both instances.
    const [onA, onB] = [(await stats(a)).subscribers, (await stats(b)).subscribers];
    assert.ok(onA > 0 && onB > 0, `subscribers: ${onA} on a, ${onB} on b`);

    const accepted = [];
    const everyoneHasAll = () => page.waitForFunction((ids) => window.received.every(
      (messages) => ids.every((id) => messages.some(([got]) => got === id))), accepted.map(({ id }) => id),
      { timeout: 15_000 });

    // Published on either instance, received by all eight.
    for (const [instance, text] of [[a, "from a"], [b, "from b"]]) {
      const result = await publishTo(instance, text);
      assert.equal(result.status, 202);
      accepted.push({ id: result.id, text });
    }
    await everyoneHasAll();

    // The demo page's publish form, through nginx: its own broadcast stream shows it.
    await page.fill("#message", "through the proxy, to either instance");
    await page.click("#publish");
    await page.waitForFunction(() => document.getElementById("chat-log").innerText.includes("through the proxy, to either instance"));
    assert.match(await page.locator("#publish-result").innerText(), /^202/);

    // A crash: messages keep coming while instance a dies.
    for (let n = 1; n <= 30; n += 1) {
      if (n === 10) await a.kill();
      const target = n < 10 && n % 2 ? a : b;
      const result = await publishTo(target, `m${n}`);
      if (result.status === 202) accepted.push({ id: result.id, text: `m${n}` });
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await everyoneHasAll();
    assert.equal((await stats(b)).subscribers >= STREAMS, true, "every stream moved to b");

    // Redis goes away and comes back with its append-only file.
    await redis.stop();
    await waitFor(async () => !(await stats(b)).redis.connected, 10_000, "b to notice Redis is gone");
    const during = await publishTo(b, "during the outage");
    assert.equal(during.status, 503, "a publish while Redis is down is refused, not lost");
    await redis.start();
    await waitFor(async () => (await stats(b)).redis.connected, 10_000, "b to follow the log again");
    for (let n = 31; n <= 35; n += 1) {
      const result = await publishTo(b, `m${n}`);
      assert.equal(result.status, 202);
      accepted.push({ id: result.id, text: `m${n}` });
    }
    await everyoneHasAll();

    // Exactly what was accepted, once each, in publish order, on every stream.
    const received = await page.evaluate(() => window.received);
    const expected = accepted.map(({ id, text }) => [id, text]);
    received.forEach((messages, index) => assert.deepEqual(messages, expected, `stream ${index}`));
    assert.deepEqual(pageErrors, []);
    await page.close();
  } finally {
    await context.close();
  }
});
