// The URL Pattern differential test: a few thousand generated pattern/URL pairs, each
// evaluated by Chromium's built-in URLPattern (an implementation nobody on this project
// wrote) and by the Rust matcher (src/mercure/urlpattern, through the small
// examples/urlpattern_oracle program), compared one by one. The generator is seeded, so
// a failure names pairs that fail again on the next run.
//
// Patterns are built from the features the Mercure spec asks for: constructor strings,
// absolute and relative to the hub's URL, `:name`, `*`, `{...}` groups and the `?` `+`
// `*` modifiers, in every component; URLs are made by filling each pattern in (so many
// match) and by mutating it (so many almost match). Two classes are counted apart:
// - patterns with a regexp group other than `(.*)`, which the Rust side refuses (the
//   docs/mercure.md says so): these must be patterns Chromium accepts;
// - URLs Chromium's own URL parser refuses (`URL.canParse` false) but its URLPattern's
//   test() still matches: the URL Standard says such a URL matches nothing (URL Pattern Standard, "perform a match", step "if url is
//   failure, return null"), and the Mercure spec says the same of topics, so Chromium's
//   answer there is taken as "no-match";
// - pairs where Chromium gives up: its URLPattern runs the standard's regular expression
//   in V8 with a backtracking limit, and answers "no match" when the limit is hit. Outside
//   special schemes there is no delimiter, so two repeated groups in one pathname
//   (`/:a*/:b*/:c.json`, that is `((?:[^]+?)*)\/((?:[^]+?)*)`) backtrack exponentially,
//   and Chromium says "no match" on a 26-character path that does match. The Rust
//   matcher has no such limit (it runs in linear time); such pairs (Rust "match",
//   Chromium "no-match", a non-special pattern with two or more repeated groups) are
//   counted as `chromiumGaveUp`, not compared.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const oracle = process.env.URLPATTERN_ORACLE
  ?? path.join(here, "..", "..", "target", "release", "examples", "urlpattern_oracle");
const HUB = "https://localhost/.well-known/mercure";
const SEED = Number(process.env.URLPATTERN_SEED ?? 27);
const PATTERNS = 500;
const URLS_PER_PATTERN = 8;

let context;
before(async () => { context = await launchChromium("urlpattern"); });
after(async () => { await context?.close(); });

// mulberry32: a tiny seeded generator, so every run asks the same questions.
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (items) => items[Math.floor(next() * items.length)];
  const chance = (p) => next() < p;
  return { next, pick, chance };
}

const WORDS = ["books", "a", "B", "users", "42", "x-y", "caf%C3%A9", "ä", "a b", "~z", ".", "..", "%2e", "sub", "mercure", ".well-known"];

// One pattern: its text, whether it holds a regexp group, and a way to fill it in.
function makePattern(random) {
  const { pick, chance } = random;
  const groupNames = [];
  const name = () => { const n = `n${groupNames.length}`; groupNames.push(n); return n; };
  // A pathname piece and the concrete text that fills it.
  const pathPiece = () => pick([
    () => { const w = pick(WORDS); return [`/${w}`, () => `/${pick([w, w, pick(WORDS)])}`]; },
    () => [`/:${name()}`, () => `/${pick(WORDS)}`],
    () => [`/:${name()}?`, () => pick(["", `/${pick(WORDS)}`])],
    () => [`/:${name()}+`, () => `/${pick(WORDS)}${pick(["", `/${pick(WORDS)}`])}`],
    () => [`/:${name()}*`, () => pick(["", `/${pick(WORDS)}`, `/${pick(WORDS)}/${pick(WORDS)}`])],
    () => ["/*", () => `/${pick(["", pick(WORDS), `${pick(WORDS)}/${pick(WORDS)}`])}`],
    () => ["/*?", () => pick(["", `/${pick(WORDS)}`])],
    () => [`{/${pick(WORDS)}}?`, () => pick(["", `/${pick(WORDS)}`])],
    () => [`{/:${name()}}*`, () => pick(["", `/${pick(WORDS)}`, `/${pick(WORDS)}/${pick(WORDS)}`])],
    () => [`{/x-:${name()}}+`, () => `/x-${pick(WORDS)}`],
    () => [`/:${name()}.json`, () => `/${pick(WORDS)}.json`],
    () => ["/(.*)", () => `/${pick(WORDS)}`],
    () => ["/([^\\/]+?)", () => `/${pick(WORDS)}`],
    () => ["/(\\d+)", () => `/${pick(["1", "42", "a"])}`],
    () => [`/${pick(WORDS)}\\:${pick(WORDS)}`, () => `/${pick(WORDS)}:${pick(WORDS)}`],
    () => [`/{${pick(WORDS)}}`, () => `/${pick(WORDS)}`],
  ])();
  const pieces = Array.from({ length: 1 + Math.floor(random.next() * 3) }, pathPiece);
  const pathname = pieces.map(([p]) => p).join("");
  const fillPath = () => pieces.map(([, fill]) => fill()).join("");
  const search = pick([null, null, ["?*", () => pick(["", "?a=1", "?q"])], ["?page=:p", () => `?page=${pick(["2", "", "x y"])}`],
    ["?a=1", () => pick(["?a=1", "?a=2"])], ["?q=:v+", () => `?q=${pick(["1", "a'b", "é"])}`], ["?{a=:a&}*b", () => pick(["?b", "?a=1&b", "?a=1&a=2&b", "?a=&b"])]]);
  const hash = pick([null, null, ["#*", () => pick(["", "#x"])], ["#top", () => pick(["#top", "#TOP"])], ["#:f?", () => pick(["", "#", "#a b", "#`"])]]);
  const tail = (search ? search[0] : "") + (hash ? hash[0] : "");
  const fillTail = () => (search ? search[1]() : pick(["", "?z"])) + (hash ? hash[1]() : pick(["", "#h"]));

  const shape = random.next();
  if (shape < 0.45) {
    // Relative to the hub's URL.
    const relative = pick([
      [pathname + tail, () => fillPath() + fillTail()],
      [pathname.replace(/^\//, "") + tail, () => `/.well-known/${fillPath().replace(/^\//, "")}${fillTail()}`],
      ["?page=:p", () => `/.well-known/mercure?page=${pick(["1", "", "a"])}${pick(["", "#x"])}`],
      ["#*", () => `/.well-known/mercure${pick(["", "?x"])}#${pick(["", "y"])}`],
    ]);
    return { pattern: relative[0], fill: relative[1] };
  }
  const protocol = pick([["https", "https"], ["http", "http"], ["*", pick(["https", "http", "wss"])], ["http{s}?", pick(["http", "https"])], ["wss", "wss"], ["HTTPS", "https"], ["foo", "foo"],
    [":scheme", pick(["https", "ws", "foo"])]]);
  const host = pick([
    ["example.com", () => pick(["example.com", "EXAMPLE.com", "example.org"])],
    ["*.example.com", () => `${pick(["a", "a.b", ""])}.example.com`.replace(/^\./, "")],
    [`:${name()}.example.com`, () => `${pick(["www", "a.b"])}.example.com`],
    ["{www.}?example.com", () => pick(["example.com", "www.example.com", "w.example.com"])],
    ["localhost", () => "localhost"],
    ["127.0.0.1", () => pick(["127.0.0.1", "0x7f.1", "127.1"])],
    ["[\\:\\:1]", () => pick(["[::1]", "[0:0::1]", "[::2]"])],
    ["Ex%41mple.com", () => pick(["exAmple.com", "example.com"])],
    ["*", () => pick(["example.com", "localhost"])],
    ["{:label.}*example.com", () => `${pick(["", "a.", "a.b.", "A."])}example.com`],
    ["example.*", () => pick(["example.com", "example.co.uk", "example"])],
  ]);
  const port = pick([["", () => pick(["", "", ":443", ":8080"])], [":8080", () => pick([":8080", ":08080", ""])], [":*", () => pick(["", ":1"])], [":443", () => pick(["", ":443"])], [":80", () => pick([":80", ""])]]);
  const user = random.chance(0.15)
    ? pick([["user@", () => pick(["user@", "", "other@"])], ["u\\:p@", () => pick(["u:p@", "u@", "u:q@"])], [":who@", () => pick(["a@", "a:b@", ""])], ["user:pass@", () => pick(["user:x@", "user@", "user:pass@"])]])
    : ["", () => pick(["", "", "u@"])];
  if (protocol[0] === "foo" && chance(0.5)) {
    // A non-special scheme without `//`: an opaque path.
    const opaque = pick([["foo:bar/*", () => `foo:bar/${pick(WORDS)}`], ["foo:*", () => `foo:${pick(WORDS)}`]]);
    return { pattern: opaque[0], fill: opaque[1] };
  }
  // A `{` right after the host is still read as part of the hostname (nothing inside
  // `{...}` is a separator): `https://h{/x}?/y` has the hostname `h{/x}?`. Half the time
  // the path starts with a plain `/` segment there, so `{/x}` stays in the path.
  const lead = pathname.startsWith("{") && chance(0.5) ? "/sub" : "";
  const pattern = `${protocol[0]}://${user[0]}${host[0]}${port[0]}${lead}${pathname}${tail}`;
  const fill = () => `${protocol[1]}://${user[1]()}${host[1]()}${port[1]()}${lead}${fillPath()}${fillTail()}`;
  return { pattern, fill };
}

// A URL near `url`: one character dropped or inserted, an extra segment, or upper case.
// No space is inserted: Chromium's URL parser writes a space in a host as `%20` where
// the URL Standard refuses the URL (a forbidden host code point), a known difference of
// Chromium's, not of URL Patterns; spaces in paths and queries come from WORDS.
function mutate(random, url) {
  const index = Math.floor(random.next() * url.length);
  return random.pick([
    () => url.slice(0, index) + url.slice(index + 1),
    () => url.slice(0, index) + random.pick(["/", ".", ":", "?", "#", "x", "%", "@"]) + url.slice(index),
    () => url + random.pick(["/", "/extra", "?", "#"]),
    () => url.toUpperCase(),
  ])();
}

function generatePairs() {
  const random = generator(SEED);
  const pairs = [];
  for (let i = 0; i < PATTERNS; i++) {
    const { pattern, fill } = makePattern(random);
    for (let j = 0; j < URLS_PER_PATTERN; j++) {
      const url = j % 3 === 2 ? mutate(random, fill()) : fill();
      pairs.push({ pattern, url });
    }
  }
  return pairs;
}

// The Rust answers, one per pair, from one run of the oracle program.
async function askRust(pairs) {
  const child = spawn(oracle, [], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (bytes) => { output += bytes; });
  const exited = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => resolve(code));
  });
  child.stdin.end(pairs.map(({ pattern, url }) => JSON.stringify([HUB, pattern, url])).join("\n") + "\n");
  const timeout = new Promise((_, reject) => setTimeout(() => { child.kill("SIGKILL"); reject(new Error("oracle timed out")); }, 30_000));
  const code = await Promise.race([exited, timeout]);
  assert.equal(code, 0, "the oracle exits 0");
  return output.trimEnd().split("\n").map((line) => line.split("\t")[0]);
}

// Chromium's answers: new URLPattern(pattern, hub) and test(url, hub) in a page.
async function askChromium(pairs) {
  const page = await context.newPage();
  await page.goto("about:blank");
  const answers = await page.evaluate(({ questions, hub }) => questions.map(([pattern, url]) => {
    let compiled;
    try { compiled = new URLPattern(pattern, hub); } catch { return "error"; }
    let matched;
    try { matched = compiled.test(url, hub); } catch { matched = false; }
    if (matched && !URL.canParse(url, hub)) return "no-match (unparsable URL)";
    return matched ? "match" : "no-match";
  }), { questions: pairs.map(({ pattern, url }) => [pattern, url]), hub: HUB });
  await page.close();
  return answers;
}

test("the Rust URL Pattern matcher agrees with Chromium's URLPattern on generated pairs", async () => {
  const pairs = generatePairs();
  const [rust, chromium] = await Promise.all([askRust(pairs), askChromium(pairs)]);
  assert.equal(rust.length, pairs.length, "one Rust answer per pair");
  assert.equal(chromium.length, pairs.length, "one Chromium answer per pair");

  const tally = { compared: 0, matches: 0, errors: 0, refused: 0, unparsableUrls: 0, chromiumGaveUp: 0 };
  const repeatedGroups = (pattern) => (pattern.match(/(:\w+|\*|\})[*+]/g) ?? []).length;
  const disagreements = [];
  pairs.forEach(({ pattern, url }, index) => {
    let answer = chromium[index];
    if (rust[index] === "refused") {
      // Only regexp groups may be refused, and only where Chromium accepts the pattern.
      const hasRegexp = /\((?!\.\*\))/.test(pattern);
      if (!hasRegexp || answer === "error") disagreements.push({ pattern, url, rust: rust[index], chromium: answer });
      tally.refused += 1;
      return;
    }
    if (answer === "no-match (unparsable URL)") {
      tally.unparsableUrls += 1;
      answer = "no-match";
    }
    if (rust[index] === "match" && answer === "no-match" && pattern.startsWith("foo:") && repeatedGroups(pattern) >= 2) {
      tally.chromiumGaveUp += 1;
      return;
    }
    tally.compared += 1;
    if (rust[index] === "match") tally.matches += 1;
    if (rust[index] === "error") tally.errors += 1;
    if (rust[index] !== answer) disagreements.push({ pattern, url, rust: rust[index], chromium: answer });
  });
  console.log(`URL Pattern differential (seed ${SEED}): ${JSON.stringify(tally)}, ${disagreements.length} disagreements`);
  if (process.env.URLPATTERN_DUMP) {
    const dump = pairs.map((pair, index) => ({ ...pair, rust: rust[index], chromium: chromium[index] }));
    fs.writeFileSync(process.env.URLPATTERN_DUMP, JSON.stringify(dump, null, 1));
  }
  assert.deepEqual(disagreements.slice(0, 25), [], `${disagreements.length} of ${pairs.length} pairs disagree`);
  // The generator must exercise both answers, and most pairs must be compared.
  assert.ok(tally.compared >= 3000, `only ${tally.compared} pairs compared`);
  assert.ok(tally.matches >= 500 && tally.compared - tally.matches - tally.errors >= 500, JSON.stringify(tally));
});
