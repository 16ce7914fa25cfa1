// Starts the release build of sse-server on a free loopback port for one test file,
// and stops it with SIGINT (as Ctrl-C would) or SIGTERM, checking that it exits cleanly.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.env.SSE_SERVER_BIN ?? path.join(here, "..", "..", "target", "release", "sse-server");

/// No drain window unless a test asks for one (a later --drain-window-s wins): `stop()`
/// is about the end itself, and waits at most 5 s for it.
export async function startServer(args = []) {
  const child = spawn(binary, ["--bind", "127.0.0.1", "--port", "0", "--drain-window-s", "0", ...args], {
    env: { ...process.env, RUST_LOG: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 10_000);
    child.stderr.on("data", (bytes) => {
      log += bytes;
      const match = log.match(/Server running at (http:\/\/[^/\s]+)\//);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    url,
    log: () => log,
    /// Kills the process at once (SIGKILL), as a crash or an OOM kill would.
    async kill() {
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
    /// Stops it with SIGINT (Ctrl-C), or `signal`, and resolves to how it exited.
    async stop(signal = "SIGINT") {
      if (child.exitCode !== null || child.signalCode !== null) {
        return { code: child.exitCode, signal: child.signalCode };
      }
      const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
      child.kill(signal);
      const timeout = new Promise((resolve) => setTimeout(() => resolve({ code: "timeout" }), 5_000));
      const result = await Promise.race([exited, timeout]);
      if (result.code === "timeout") child.kill("SIGKILL");
      return result;
    },
  };
}

export async function publish(url, text, eventType) {
  const target = eventType ? `${url}/publish?event=${encodeURIComponent(eventType)}` : `${url}/publish`;
  const response = await fetch(target, { method: "POST", body: text });
  if (response.status !== 202) throw new Error(`publish answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/// Resolves when `predicate()` is true, polling; rejects after `ms`.
export async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/// Headless Chromium (Debian's package) with a profile of its own; `close()` removes it.
export async function launchChromium(name, options = {}) {
  const { chromium } = await import("playwright-core");
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `sse-e2e-${name}-`));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
    ...options,
  });
  const close = context.close.bind(context);
  context.close = async () => {
    await close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return context;
}

/// A TCP relay between the client and the server, so the test can cut the connection
/// the way a network would, and see the requests the client sends.
export async function startRelay(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const requests = [];
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client); sockets.add(upstream);
    client.once("data", (head) => requests.push(head.toString("latin1")));
    client.pipe(upstream); upstream.pipe(client);
    const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on("error", drop); upstream.on("error", drop); client.on("close", drop); upstream.on("close", drop);
  });
  await new Promise((resolve) => relay.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${relay.address().port}`,
    requests,
    cut: () => { for (const socket of sockets) socket.destroy(); sockets.clear(); },
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); relay.close(resolve); }),
  };
}
