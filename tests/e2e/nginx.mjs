// nginx in front of sse-server for a test, as deploy/nginx.conf sets it up: TLS with a
// throwaway certificate, HTTP/2 for the browser, HTTP/1.1 to the instances, all on
// loopback. Also a Redis of the test's own, and the small network helpers both need.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

export const freePort = () => new Promise((resolve) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

export const accepting = (port) => new Promise((resolve) => {
  const socket = net.connect(port, "127.0.0.1");
  socket.once("connect", () => { socket.destroy(); resolve(true); });
  socket.once("error", () => resolve(false));
});

/// Sends SIGTERM (or `signal`) to a child we started and waits for it to exit.
export async function stopChild(child, signal = "SIGTERM") {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill(signal);
  await exited;
}

/// deploy/nginx.conf as committed, with its marked lines pointed at `instancePorts`,
/// a free port and a throwaway certificate, and its access log in a temporary
/// directory, inside a minimal main configuration. Returns `{ url, accessLog(), stop() }`;
/// the URL is `https://localhost:PORT`, `accessLog()` the log's text so far. `backupPorts`
/// are instances nginx uses only while every other one is down; `workerConnections`
/// bounds nginx's connections (two per proxied stream). Every test client comes from one
/// address, so a test of many clients raises the per-client limits to
/// `perClientConnections` (and the burst with it).
export async function startNginx(instancePorts, { backupPorts = [], workerConnections = 256,
                                                  perClientConnections = 64 } = {}) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "sse-e2e-nginx-"));
  fs.chmodSync(workDir, 0o777);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-keyout", path.join(workDir, "key.pem"), "-out", path.join(workDir, "cert.pem"),
                           "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
               { stdio: "ignore" });
  const proxyPort = await freePort();
  const servers = [...instancePorts.map((port) => `server 127.0.0.1:${port};`),
                   ...backupPorts.map((port) => `server 127.0.0.1:${port} backup;`)].join("\n    ");
  const site = fs.readFileSync(path.join(here, "..", "..", "deploy", "nginx.conf"), "utf8")
    .replace("server 127.0.0.1:5000;", servers)
    .replace("listen 443 ssl http2;", `listen 127.0.0.1:${proxyPort} ssl http2;`)
    .replace("/etc/ssl/sse-server/cert.pem", path.join(workDir, "cert.pem"))
    .replace("/etc/ssl/sse-server/key.pem", path.join(workDir, "key.pem"))
    .replace("/var/log/nginx/sse-server.access.log", path.join(workDir, "access.log"))
    .replace("limit_conn sse_connections_per_client 64;",
             `limit_conn sse_connections_per_client ${perClientConnections};`)
    .replace("burst=100 nodelay;", `burst=${Math.max(100, 2 * perClientConnections)} nodelay;`);
  assert.ok(site.includes(`limit_conn sse_connections_per_client ${perClientConnections};`),
            "deploy/nginx.conf no longer has the per-client limit this test adapts");
  assert.ok(site.includes(servers) && site.includes(`127.0.0.1:${proxyPort}`) &&
            site.includes(path.join(workDir, "access.log")),
            "deploy/nginx.conf no longer has the lines this test adapts");
  fs.writeFileSync(path.join(workDir, "site.conf"), site);
  const temp = (name) => `${name}_temp_path ${path.join(workDir, name)};`;
  fs.writeFileSync(path.join(workDir, "nginx.conf"), `
daemon off;
worker_processes 1;
pid ${path.join(workDir, "nginx.pid")};
error_log ${path.join(workDir, "error.log")} warn;
worker_rlimit_nofile ${workerConnections * 2};
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  ${temp("client_body")} ${temp("proxy")} ${temp("fastcgi")} ${temp("uwsgi")} ${temp("scgi")}
  include ${path.join(workDir, "site.conf")};
}
`);
  const nginx = spawn("nginx", ["-p", workDir, "-c", path.join(workDir, "nginx.conf"),
                                "-e", path.join(workDir, "error.log")], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  nginx.stderr.on("data", (bytes) => { log += bytes; });
  await waitFor(() => accepting(proxyPort), 10_000, `nginx to listen:\n${log}`);
  return {
    url: `https://localhost:${proxyPort}`,
    accessLog: () => fs.readFileSync(path.join(workDir, "access.log"), "utf8"),
    async stop() {
      await stopChild(nginx, "SIGQUIT");
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/// A redis-server on a free loopback port, its append-only file on (a restart keeps
/// the log). `restart()` stops and starts it on the same port and data.
export async function startRedis() {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "sse-e2e-redis-"));
  const port = await freePort();
  let child;
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "yes", "--dir", workDir], { stdio: "ignore" });
    await waitFor(() => accepting(port), 10_000, "redis-server to listen");
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: () => stopChild(child),
    async remove() {
      await stopChild(child);
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
