// A real Prometheus server (Debian's prometheus package) scrapes an instance's /metrics
// every second: its HTTP API must show the target up and the publishes this test made.
// Prometheus listens on loopback only, with its configuration and storage in a folder
// of the test's own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { startServer, publish, waitFor } from "./server.mjs";
import { freePort, accepting, stopChild } from "./nginx.mjs";

const PUBLISHES = 7;
let server;
let prometheus;
let workDir;
let api;

before(async () => {
  server = await startServer();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "sse-e2e-prometheus-"));
  const target = new URL(server.url).host;
  fs.writeFileSync(path.join(workDir, "prometheus.yml"), `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sse-server
    metrics_path: /metrics
    static_configs:
      - targets: ["${target}"]
`);
  const port = await freePort();
  api = `http://127.0.0.1:${port}/api/v1`;
  prometheus = spawn("prometheus", [
    `--config.file=${path.join(workDir, "prometheus.yml")}`,
    `--storage.tsdb.path=${path.join(workDir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  prometheus.stderr.on("data", (bytes) => { log += bytes; });
  await waitFor(() => accepting(port), 20_000, `prometheus to listen:\n${log}`);
});

after(async () => {
  await stopChild(prometheus);
  // Prometheus's connection has closed: a scrape a second is not worth an info line each.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const quietLog = server.log();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  // Connections to other routes are logged at info: the log works, /metrics is quiet.
  assert.match(quietLog, /GET \/stats closed/);
  assert.doesNotMatch(quietLog, /GET \/metrics/);
});

/// The value of an instant query with one result, or null while it has none.
async function query(expression) {
  const response = await fetch(`${api}/query?query=${encodeURIComponent(expression)}`);
  const body = await response.json();
  assert.equal(body.status, "success", JSON.stringify(body));
  const [first] = body.data.result;
  return first ? Number(first.value[1]) : null;
}

test("Prometheus scrapes /metrics: the target is up and shows the publishes made", async () => {
  await waitFor(async () => (await query('up{job="sse-server"}')) === 1, 20_000, "up == 1");
  for (let n = 0; n < PUBLISHES; n += 1) await publish(server.url, `message ${n}`);
  await waitFor(async () => (await query("sse_messages_published_total")) === PUBLISHES, 20_000,
                `sse_messages_published_total == ${PUBLISHES}`);
  // The scrape itself is clean: Prometheus reports no samples it had to drop.
  const scraped = await query('scrape_samples_scraped{job="sse-server"}');
  assert.ok(scraped > 20, `samples scraped: ${scraped}`);
  assert.ok((await query("process_start_time_seconds")) > 1.5e9);
  assert.equal(await query('sse_streams_open{stream="subscribe"}'), 0);
  // One connection of our own that closes (no keep-alive), for the log check in after().
  await new Promise((resolve) => http.get(`${server.url}/stats`, { agent: false }, (response) => {
    response.resume();
    response.on("end", resolve);
  }));
});
