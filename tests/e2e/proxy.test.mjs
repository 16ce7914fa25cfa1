// Behind nginx, as deploy/nginx.conf sets it up: TLS and HTTP/2 for the browser, HTTP/1.1
// to sse-server, which believes the proxy's X-Forwarded-* headers (--trusted-proxy).
// Chromium loads the demo page over https on HTTP/2, opens eight EventSources on that one
// origin (more than the six connections HTTP/1.1 would allow), and all of them receive;
// the page's publish form passes the same-origin check through the proxy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, waitFor, launchChromium } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const STREAMS = 8;
let server;
let nginx;
let proxyUrl;
let workDir;

const freePort = () => new Promise((resolve) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

const accepting = (port) => new Promise((resolve) => {
  const socket = net.connect(port, "127.0.0.1");
  socket.once("connect", () => { socket.destroy(); resolve(true); });
  socket.once("error", () => resolve(false));
});

/// deploy/nginx.conf as committed, with its three marked lines pointed at this test's
/// instance, port and throwaway certificate, inside a minimal main configuration.
function writeNginxConfig(serverPort, proxyPort) {
  const site = fs.readFileSync(path.join(here, "..", "..", "deploy", "nginx.conf"), "utf8")
    .replace("server 127.0.0.1:5000;", `server 127.0.0.1:${serverPort};`)
    .replace("listen 443 ssl http2;", `listen 127.0.0.1:${proxyPort} ssl http2;`)
    .replace("/etc/ssl/sse-server/cert.pem", path.join(workDir, "cert.pem"))
    .replace("/etc/ssl/sse-server/key.pem", path.join(workDir, "key.pem"));
  assert.ok(site.includes(`127.0.0.1:${serverPort}`) && site.includes(`127.0.0.1:${proxyPort}`),
            "deploy/nginx.conf no longer has the lines this test adapts");
  fs.writeFileSync(path.join(workDir, "site.conf"), site);
  const temp = (name) => `${name}_temp_path ${path.join(workDir, name)};`;
  fs.writeFileSync(path.join(workDir, "nginx.conf"), `
daemon off;
worker_processes 1;
pid ${path.join(workDir, "nginx.pid")};
error_log ${path.join(workDir, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${temp("client_body")} ${temp("proxy")} ${temp("fastcgi")} ${temp("uwsgi")} ${temp("scgi")}
  include ${path.join(workDir, "site.conf")};
}
`);
}

before(async () => {
  server = await startServer(["--trusted-proxy", "127.0.0.1"]);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "sse-e2e-nginx-"));
  fs.chmodSync(workDir, 0o777);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-keyout", path.join(workDir, "key.pem"), "-out", path.join(workDir, "cert.pem"),
                           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
               { stdio: "ignore" });
  const proxyPort = await freePort();
  writeNginxConfig(new URL(server.url).port, proxyPort);
  nginx = spawn("nginx", ["-p", workDir, "-c", path.join(workDir, "nginx.conf"),
                          "-e", path.join(workDir, "error.log")], { stdio: ["ignore", "ignore", "pipe"] });
  let nginxLog = "";
  nginx.stderr.on("data", (bytes) => { nginxLog += bytes; });
  await waitFor(() => accepting(proxyPort), 10_000, `nginx to listen:\n${nginxLog}`);
  proxyUrl = `https://localhost:${proxyPort}`;
});

after(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx.on("exit", resolve));
    nginx.kill("SIGQUIT");
    await exited;
  }
  const exit = await server?.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
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
    const statuses = await page.evaluate(async (count) => {
      const answers = [];
      for (let index = 0; index < count; index += 1) {
        const response = await fetch(`/publish?topic=proxy/${index}`, { method: "POST", body: `to ${index}` });
        answers.push(response.status);
      }
      return answers;
    }, STREAMS);
    assert.deepEqual(statuses, Array(STREAMS).fill(202));
    await page.waitForFunction(() => window.received.every((messages, index) => messages.includes(`to ${index}`)),
                               null, { timeout: 10_000 });
    const received = await page.evaluate(() => window.received);
    received.forEach((messages, index) => assert.deepEqual(messages, [`to ${index}`]));

    // The publish form: its Origin is https://localhost:PORT, which the server accepts
    // as its own only because the trusted proxy says the client used https.
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
