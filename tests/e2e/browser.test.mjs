// The demo page in a real headless Chromium: counter with its close event, the clock,
// and a message published through the form arriving back in the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, publish, launchChromium } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
let server;
let context;

before(async () => {
  // A 1 s heartbeat: a closed stream is noticed at the server's next write.
  server = await startServer(["--interval-ms", "200", "--heartbeat-s", "1"]);
  context = await launchChromium("chromium");
});

after(async () => {
  await context?.close();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, "server must exit 0 on SIGINT");
});

test("the demo page shows the counter, its close event, the clock and published messages", async () => {
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error));
  await page.goto(`${server.url}/`);
  assert.equal(await page.title(), "sse-server demo");

  // Counter: five numbered events, then the close event, then the EventSource is closed.
  await page.waitForFunction(() => document.getElementById("counter-log").innerText.includes("event: close"),
                             null, { timeout: 10_000 });
  const counter = await page.locator("#counter-log li").allInnerTexts();
  assert.equal(counter.length, 6, counter.join("\n"));
  assert.match(counter[0], /id 1\s+This is event number 1/);
  assert.match(counter[4], /id 5\s+This is event number 5/);
  assert.equal(await page.locator("#counter-state").innerText(), "CLOSED");

  // Clock: an RFC 3339 UTC time with milliseconds, and the stream is open.
  await page.waitForFunction(() => document.getElementById("clock-raw").textContent.endsWith("Z"));
  assert.match(await page.locator("#clock-raw").innerText(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(await page.locator("#clock-state").innerText(), "OPEN");

  // Broadcast: publish through the form, with a type and two lines.
  await page.waitForFunction(() => document.getElementById("chat-state").textContent === "OPEN");
  await page.fill("#event-type", "chat");
  await page.fill("#message", "hello from the form\nsecond line: ünïcödé ✓");
  await page.click("#publish");
  await page.waitForFunction(() => document.getElementById("chat-log").innerText.includes("second line"));
  const chat = await page.locator("#chat-log li").allInnerTexts();
  assert.match(chat.at(-1), /#1 chat: hello from the form\nsecond line: ünïcödé ✓/);
  assert.match(await page.locator("#publish-result").innerText(), /^202 Accepted: \{"id": "1", "subscribers": 1\}/);

  // A message from outside the page (as curl would publish it) arrives live too.
  await publish(server.url, "published with fetch", "notice");
  await page.waitForFunction(() => document.getElementById("chat-log").innerText.includes("published with fetch"));

  // Disconnect and resume: a message published while away is replayed.
  await page.click("#chat-reconnect");
  await publish(server.url, "sent while you were away");
  await page.waitForFunction(() => document.getElementById("chat-log").innerText.includes("sent while you were away"),
                             null, { timeout: 10_000 });

  fs.mkdirSync(path.join(here, "screenshots"), { recursive: true });
  await page.screenshot({ path: path.join(here, "screenshots", "demo.png"), fullPage: true });
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("the page closes its streams when it goes away", async () => {
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.getElementById("chat-state").textContent === "OPEN");
  const statsWhileOpen = await (await fetch(`${server.url}/stats`)).json();
  assert.ok(statsWhileOpen.subscribers >= 1, JSON.stringify(statsWhileOpen));
  await page.goto("about:blank");
  // The server learns a client left when its next write (at most a heartbeat away) fails.
  const deadline = Date.now() + 5_000;
  let stats;
  do {
    await new Promise((resolve) => setTimeout(resolve, 50));
    stats = await (await fetch(`${server.url}/stats`)).json();
  } while (stats.subscribers > 0 && Date.now() < deadline);
  assert.equal(stats.subscribers, 0, JSON.stringify(stats));
  await page.close();
});
