/**
 * Fuzzing every route: >= 10 000 random and mutated requests (bad JSON, wrong types, huge strings,
 * unicode, path tricks, wrong methods, odd headers) through `app.fetch` (no sockets, for speed),
 * then a slice over a real socket including raw requests `fetch` cannot send. Routes come from
 * `app.routes`, so routes added later are fuzzed without editing this file.
 *
 * Asserted for every request: no thrown error, no server fault (500, or any 5xx that is not a
 * typed upstream error), no "Unexpected error" in the log, the secure headers, no open redirect,
 * and every non-2xx API answer in the JSON error shape `{"error":{"kind","message"}}` (under /v1
 * the gateway's OpenAI shape `{"error":{"message","type"}}` also counts).
 *
 * Deterministic: a seeded PRNG drives everything; the seed is printed. Reproduce with
 * `FUZZ_SEED=<n> deno test -A tests/security/fuzz_test.ts` (and `FUZZ_COUNT` to change the count).
 * The LLM upstream is a fake LM Studio on 127.0.0.1; every other address the app tries to reach
 * (fuzzed provider URLs) fails at once as a refused connection, so nothing leaves the machine.
 */
import type { Hono } from "hono";
import { assert, assertEquals, fail } from "../assert.ts";
import { testApp } from "../helpers.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { SETTING_KEYS, SETTINGS } from "../../lib/settings/schema.ts";
import { CSP } from "../../routes/security.ts";
import { rawRequest } from "./raw_http.ts";
import { fillPattern, plausibleParam, type RouteEntry, routeTable } from "./routes.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20_251_125);
const COUNT = Number(Deno.env.get("FUZZ_COUNT") ?? 12_000);
const SOCKET_COUNT = 1000;
const TOKEN = "fuzz-access-token-0123456789";
const REQUEST_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// A small, fast, seedable PRNG (sfc32) and helpers.

function sfc32(seed: number) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a |= 0, b |= 0, c |= 0, d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

class Rng {
  #next: () => number;
  constructor(seed: number) {
    this.#next = sfc32(seed);
  }
  float(): number {
    return this.#next();
  }
  int(max: number): number {
    return Math.floor(this.#next() * max);
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

// ---------------------------------------------------------------------------------------------
// Ingredients.

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const ODD_METHODS = ["patch", "PROPFIND", "FOO", "M-SEARCH", "LINK", "QUERY", "get"];

const HOSTILE_SEGMENTS = [
  "..",
  ".",
  "../..",
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e",
  "%2E%2E%2F",
  "%2e",
  "%00",
  "a%00b",
  "\u0000",
  "%",
  "%zz",
  "%C0%AE%C0%AE",
  "%ff%fe",
  "😀",
  "\u202e\u200b",
  "ＮＵＬ",
  "é",
  "\ud800",
  "<script>alert(1)</script>",
  "' OR '1'='1",
  "${jndi:ldap://x}",
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "-1",
  "0",
  "1e309",
  "NaN",
  "Infinity",
  "null",
  "undefined",
  "true",
  "[]",
  "{}",
  "a/b",
  "a\\b",
  "CON",
  ";",
  "?",
  "#",
  " ",
  "x".repeat(300),
  "y".repeat(9000),
  "llm.",
  ".llm",
  "llm..model",
  "LLM.MODEL",
  "export.md",
  "events",
];

const UNKNOWN_PATHS = [
  "/",
  "//",
  "///api/settings",
  "/api",
  "/api/",
  "/API/settings",
  "/api/settings/",
  "/api//settings",
  "/api/./settings",
  "/api/x/../settings",
  "/api/%2e%2e/settings",
  "/api/settings%2F..%2F..%2Fhealth",
  "/api/settings/..",
  "/api/settings/%00",
  "/api/health/",
  "/api/health;x",
  "/static/",
  "/static/../app.ts",
  "/static/%2e%2e/%2e%2e/deno.json",
  "/static/..%2f..%2fdeno.json",
  "/v1",
  "/v1/",
  "/v1/models/",
  "/v1//chat/completions",
  "/v1/embeddings",
  "/login/",
  "/logout",
  "/favicon.ico",
  "/robots.txt",
  "/.env",
  "/.git/config",
  "/index.html",
  "/settings/../api/settings",
  "/%2e%2e/%2e%2e/etc/passwd",
  "/\u00e9t\u00e9",
  "/%F0%9F%98%80",
  "/" + "a/".repeat(500),
  "/*",
];

const HOSTS_OK = [
  "127.0.0.1:5000",
  "localhost:5000",
  "localhost",
  "[::1]:5000",
  "127.0.0.9:1",
  "app.localhost:80",
  "LOCALHOST.:5000",
];
const HOSTS_BAD = [
  "evil.example",
  "evil.example:5000",
  "0.0.0.0:5000",
  "127.1",
  "localhost.evil.example",
  "localhost:5000:1",
  "a b",
  "[::1",
  "",
  "x".repeat(3000),
  "localhost@evil.example",
];
const ORIGINS = [
  "http://127.0.0.1:5000",
  "http://localhost:5000",
  "http://evil.example",
  "null",
  "http://127.0.0.1:5001",
  "https://127.0.0.1:5000",
  "file://",
  "garbage",
  "",
];
const FETCH_SITES = ["same-origin", "same-site", "cross-site", "none", "bogus", ""];
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "application/merge-patch+json",
  "APPLICATION/JSON",
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "text/json",
  "application/jsonx",
  "",
  ";;;",
  "application/json;" + "a=b;".repeat(500),
];
const ACCEPTS = ["*/*", "text/event-stream", "text/html", "application/json", "image/png", ""];

const FIELD_NAMES = [
  "query",
  "mode",
  "provider",
  "model",
  "temperature",
  "maxTokens",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "url",
  "apiKey",
  "token",
  "next",
  "id",
  "limit",
  "cursor",
  "__proto__",
  "constructor",
  "",
  "😀",
];

/** Seed bodies the mutator starts from: valid requests for the routes we know of, and generic ones. */
function seedBodies(): unknown[] {
  const settings = SETTING_KEYS.map((k) => ({ [k]: SETTINGS[k].default }));
  return [
    ...settings,
    { "llm.temperature": 1.2, "llm.model": "qwen2.5-7b-instruct" },
    { "llm.lmstudio.url": "localhost:1234/v1/" },
    { "llm.provider": "llamacpp", "llm.top_k": 40 },
    { query: "What is DNS rebinding?", mode: "quick" },
    { query: "Compare KV stores", mode: "detailed", temperature: 0.2, maxTokens: 256 },
    { query: "x", provider: "lmstudio", model: "qwen2.5-7b-instruct" },
    { url: "http://127.0.0.1:1234", apiKey: "" },
    { url: "localhost:1234" },
    {
      model: "qwen2.5-7b-instruct",
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      max_tokens: 8,
    },
    {
      model: "qwen2.5-7b-instruct",
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello" }],
      stream: true,
      stream_options: { include_usage: true },
    },
    {},
  ];
}

function randomString(rng: Rng): string {
  switch (rng.int(8)) {
    case 0:
      return "";
    case 1:
      return rng.pick(HOSTILE_SEGMENTS);
    case 2:
      return "\u{1F600}\u0301\u202e\uFEFF\u0000\u2028";
    case 3:
      return "z".repeat(rng.pick([255, 513, 4097, 8001, 20_000]));
    case 4:
      return String.fromCharCode(...Array.from({ length: 12 }, () => rng.int(0xd7ff)));
    case 5:
      return rng.pick(["http://127.0.0.1:1", "file:///etc/passwd", "javascript:x", "ftp://x"]);
    default:
      return `value-${rng.int(1e6)}`;
  }
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -0, -1, 1, 0.5, 2, 3, 1e308, -1e308, 2 ** 53 + 1, 1e-320, 4096, 1e6 + 1]);
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return rng.pick(["quick", "detailed", "lmstudio", "ollama", "user", "assistant", "true"]);
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) {
        setOwn(o, rng.pick(FIELD_NAMES), randomValue(rng, depth + 1));
      }
      return o;
    }
  }
}

/** Sets an own property, even `__proto__` (which plain assignment would treat as the prototype). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Changes one spot of a JSON value: a type swap, a removed or added key, a huge or odd value. */
function mutate(rng: Rng, value: unknown, depth = 0): unknown {
  if (value && typeof value === "object" && depth < 4 && rng.chance(0.7)) {
    if (Array.isArray(value)) {
      if (value.length === 0 || rng.chance(0.2)) return [...value, randomValue(rng)];
      const copy = [...value];
      const i = rng.int(copy.length);
      copy[i] = mutate(rng, copy[i], depth + 1);
      return copy;
    }
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    const r = rng.int(10);
    if (r === 0 && keys.length) delete copy[rng.pick(keys)];
    else if (r === 1 || keys.length === 0) {
      setOwn(
        copy,
        rng.chance(0.5) ? rng.pick(FIELD_NAMES) : rng.pick(SETTING_KEYS),
        randomValue(rng),
      );
    } else {
      const k = rng.pick(keys);
      setOwn(copy, k, mutate(rng, copy[k], depth + 1));
    }
    return copy;
  }
  return randomValue(rng, depth);
}

function deepNest(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

const enc = new TextEncoder();

/** A body for a request that may carry one. */
function randomBody(rng: Rng, seeds: unknown[]): { body: BodyInit | undefined; value?: unknown } {
  const r = rng.float();
  if (r < 0.12) return { body: undefined };
  if (r < 0.65) {
    const value = r < 0.55 ? mutate(rng, rng.pick(seeds)) : rng.pick(seeds);
    return { body: JSON.stringify(value), value };
  }
  return { body: brokenBody(rng, seeds, r) };
}

/** Bodies that are not a JSON value: broken JSON, deep nesting, huge strings, bytes, streams. */
function brokenBody(rng: Rng, seeds: unknown[], r: number): BodyInit {
  if (r < 0.75) {
    const good = JSON.stringify(rng.pick(seeds));
    return rng.pick([
      good.slice(0, Math.max(0, rng.int(good.length))),
      `${good}}`,
      `${good} trailing`,
      good.replaceAll('"', "'"),
      `/* c */${good}`,
      "\uFEFF" + good,
      "NaN",
      "undefined",
      "{",
      "[",
      '"',
      "",
      "   ",
      "null",
      "[]",
      '"string"',
      "12",
      "true",
      '{"a":1,"a":2}',
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '{"llm.temperature":1e999}',
      '{"\\ud800":"\\udfff"}',
    ]);
  }
  if (r < 0.8) return deepNest(rng.pick([100, 1000, 10_000, 50_000]));
  if (r < 0.85) {
    return `{"query":"${"q".repeat(rng.pick([7999, 8001, 60_000, 70_000]))}"}`;
  }
  if (r < 0.9) {
    const bytes = new Uint8Array(rng.int(64) + 1).map(() => rng.int(256));
    bytes[0] = 0xff;
    return bytes;
  }
  if (r < 0.95) {
    const chunks = Array.from(
      { length: rng.int(6) + 1 },
      () => enc.encode(JSON.stringify(randomValue(rng))),
    );
    return new ReadableStream({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    });
  }
  return rng.pick(["a=1&b=2", "token=x&next=%2F%2Fevil", "--xyz\r\n\r\n--xyz--", "plain text"]);
}

function randomQuery(rng: Rng): string {
  const parts: string[] = [];
  for (let i = rng.int(4); i >= 0; i--) {
    const k = rng.pick(["limit", "cursor", "type", "fresh", "status", "next", "lastEventId", "a"]);
    const v = rng.pick([
      "1",
      "0",
      "-5",
      "101",
      "abc",
      "true",
      "chat",
      "all",
      "//evil.example",
      "%00",
      "%",
      "😀",
      "x".repeat(3000),
      "",
    ]);
    parts.push(`${rng.chance(0.1) ? `${k}[]` : k}=${v}`);
  }
  return `?${parts.join("&")}`;
}

function mutatePath(rng: Rng, path: string): string {
  switch (rng.int(12)) {
    case 0:
      return `${path}/`;
    case 1:
      return path.replace("/", "//");
    case 2:
      return path.replace(/\/([^/]*)$/, "/./$1");
    case 3:
      return `${path}/..`;
    case 4:
      return `${path}/%2e%2e/%2e%2e`;
    case 5:
      return path.toUpperCase();
    case 6:
      return `${path};jsessionid=1`;
    case 7:
      return `${path}%00`;
    case 8:
      return `${path}/${rng.pick(HOSTILE_SEGMENTS)}`;
    case 9:
      return `${path}#frag`;
    case 10:
      return `/${path.slice(1).replaceAll("/", "%2F")}`;
    default:
      return `/x/..${path}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Building and checking requests.

interface Target {
  name: "open" | "token";
  app: Hono;
}

interface Planned {
  /** The JSON value the body encodes, when it is one (kept in the corpus after a 2xx). */
  value?: unknown;
  target: Target;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: BodyInit | undefined;
  pattern: string;
}

/** Bodies that got a 2xx, per route pattern: mutating them reaches deeper than random input. */
type Corpus = Map<string, unknown[]>;

function plan(
  rng: Rng,
  targets: Target[],
  routes: RouteEntry[],
  ids: string[],
  seeds: unknown[],
  corpus: Corpus,
) {
  const target = rng.chance(0.7) ? targets[0] : targets[1];
  let pattern: string;
  let path: string;
  let method: string;
  if (rng.chance(0.88)) {
    const route = rng.pick(routes);
    pattern = route.pattern;
    const hostile = rng.chance(0.35);
    path = fillPattern(
      route.pattern,
      (name) =>
        String(
          hostile ? rng.pick(HOSTILE_SEGMENTS) : plausibleParam(name, rng.pick.bind(rng), ids),
        ),
      hostile && rng.chance(0.4),
    );
    method = route.method === "ALL" || rng.chance(0.25) ? rng.pick(METHODS) : route.method;
  } else {
    pattern = "(unrouted)";
    path = rng.pick(UNKNOWN_PATHS);
    method = rng.pick(METHODS);
  }
  if (rng.chance(0.04)) method = rng.pick(ODD_METHODS);
  if (rng.chance(0.15)) path = mutatePath(rng, path);
  if (rng.chance(0.3)) path += randomQuery(rng);

  const headers: Record<string, string> = {};
  headers.host = rng.chance(0.93) ? rng.pick(HOSTS_OK) : rng.pick(HOSTS_BAD);
  if (rng.chance(0.12)) headers.origin = rng.pick(ORIGINS);
  if (rng.chance(0.12)) headers["sec-fetch-site"] = rng.pick(FETCH_SITES);
  if (target.name === "token") {
    const a = rng.float();
    if (a < 0.75) headers.authorization = `Bearer ${TOKEN}`;
    else if (a < 0.85) headers.authorization = `Bearer ${TOKEN}x`;
    else if (a < 0.9) {
      headers.authorization = rng.pick(["Bearer", "Basic Zm9vOmJhcg==", "x".repeat(5000)]);
    }
  } else if (rng.chance(0.05)) headers.authorization = rng.pick(["Bearer x", "Basic", "\u00ff"]);
  if (rng.chance(0.08)) {
    headers.cookie = rng.pick([
      "deepstudio_session_5000=v1.99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "deepstudio_session_5000=%%%; a=b",
      "deepstudio_session=" + "v".repeat(4000),
      "=; ;; =x",
      "deepstudio_session_5000=v1.1.x",
    ]);
  }
  if (rng.chance(0.1)) headers.accept = rng.pick(ACCEPTS);
  if (rng.chance(0.05)) headers["x-forwarded-proto"] = rng.pick(["https", "http", "gopher"]);
  if (rng.chance(0.05)) {
    headers["last-event-id"] = rng.pick(["5", "-1", "abc", "1e99", "9".repeat(400)]);
  }
  if (rng.chance(0.03)) headers["x-odd"] = "\u00ff\u00fe".repeat(rng.int(2000) + 1);

  let body: BodyInit | undefined;
  let value: unknown;
  const upper = method.toUpperCase();
  if (upper !== "GET" && upper !== "HEAD") {
    const learned = corpus.get(pattern);
    ({ body, value } = randomBody(rng, learned && rng.chance(0.6) ? learned : seeds));
    if (body !== undefined || rng.chance(0.3)) {
      headers["content-type"] = rng.chance(0.75) ? "application/json" : rng.pick(CONTENT_TYPES);
    }
    if (rng.chance(0.03)) headers["content-length"] = rng.pick(["abc", "-1", "99999999999", "0"]);
  }
  const base = rng.chance(0.05) ? "http://127.0.0.1:5000" : "http://localhost";
  return { target, method, url: base + path, headers, body, value, pattern } satisfies Planned;
}

function describe(p: Planned): string {
  const body = typeof p.body === "string"
    ? JSON.stringify(p.body.slice(0, 200))
    : p.body instanceof Uint8Array
    ? `<${p.body.length} bytes>`
    : p.body === undefined
    ? "-"
    : "<stream>";
  const headers = JSON.stringify(
    Object.fromEntries(Object.entries(p.headers).map(([k, v]) => [k, v.slice(0, 80)])),
  );
  return `[${p.target.name}] ${p.method} ${p.url.slice(0, 200)} headers=${headers} body=${body}`;
}

function isApi(path: string): boolean {
  return path === "/api" || path.startsWith("/api/") || path === "/v1" || path.startsWith("/v1/");
}

const UPSTREAM_OK_5XX = new Set([502, 503, 504]);

/** Checks one response; returns a problem description or null. Reads (a bounded part of) the body. */
async function check(
  req: Request,
  res: Response,
  ids: string[],
): Promise<string | null> {
  const path = new URL(req.url).pathname;
  const type = res.headers.get("content-type") ?? "";
  if (res.headers.get("content-security-policy") !== CSP) return "missing or wrong CSP";
  if (res.headers.get("x-content-type-options") !== "nosniff") return "missing nosniff";
  if (res.headers.get("x-powered-by") !== null) return "x-powered-by present";
  if (isApi(path) && res.headers.get("cache-control") !== "no-store") return "API without no-store";
  if (res.status >= 300 && res.status < 400) {
    const loc = res.headers.get("location") ?? "";
    if (!loc.startsWith("/") || loc.startsWith("//") || loc.startsWith("/\\")) {
      return `redirect to non-local ${loc}`;
    }
  }
  // Event streams may stay open (heartbeats); their status and headers are what we check.
  if (type.startsWith("text/event-stream") || req.method === "HEAD") {
    await res.body?.cancel();
    // HEAD has no body to show the error kind; a gateway status there is the upstream's.
    const upstream = req.method === "HEAD" && UPSTREAM_OK_5XX.has(res.status);
    return res.status >= 500 && !upstream ? `status ${res.status} without a body` : null;
  }
  const text = await readBounded(res, 2 * 1024 * 1024);
  if (res.status >= 500) {
    if (!UPSTREAM_OK_5XX.has(res.status)) return `status ${res.status}: ${text.slice(0, 300)}`;
    // A typed upstream error (ours: kind; the /v1 gateway's OpenAI shape: type and code).
    const err = parseError(text);
    const kind = err?.kind ?? (path.startsWith("/v1") ? err?.code ?? err?.type : undefined);
    if (typeof kind !== "string" || kind === "internal") {
      return `status ${res.status}: ${text.slice(0, 300)}`;
    }
  }
  if (res.status < 300 && type.includes("json")) {
    try {
      collectIds(JSON.parse(text), ids);
    } catch {
      return `2xx JSON that does not parse: ${text.slice(0, 200)}`;
    }
  }
  if (res.status >= 400) {
    // Pages may answer with an HTML page (sign-in form, "no such run"); the API never does.
    if (!isApi(path) && type.startsWith("text/html")) return null;
    if (!type.includes("application/json")) return `error with content-type ${type}`;
    const err = parseError(text);
    if (!err) return `error body not in the error shape: ${text.slice(0, 300)}`;
    const ours = typeof err.kind === "string" && typeof err.message === "string";
    const openAi = path.startsWith("/v1") && typeof err.message === "string" &&
      typeof err.type === "string";
    if (!ours && !openAi) return `error body not in the error shape: ${text.slice(0, 300)}`;
  }
  return null;
}

function parseError(text: string): Record<string, unknown> | null {
  try {
    const body = JSON.parse(text);
    const e = body?.error;
    return e && typeof e === "object" && !Array.isArray(e) ? e : null;
  } catch {
    return null;
  }
}

async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > max) {
      await reader.cancel();
      break;
    }
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

function collectIds(value: unknown, ids: string[], depth = 0): void {
  if (depth > 4 || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const v of value.slice(0, 20)) collectIds(v, ids, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === "id" && typeof v === "string" && v.length < 200 && !ids.includes(v)) {
      if (ids.length < 200) ids.push(v);
    } else collectIds(v, ids, depth + 1);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The fetch the apps get: the fake LM Studio is reachable, everything else is refused at once. */
function sandboxFetch(allowedPort: number): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname === "127.0.0.1" && url.port === String(allowedPort)) {
      return fetch(input, init);
    }
    return Promise.reject(new TypeError(`error sending request: Connection refused (${url.host})`));
  };
}

// ---------------------------------------------------------------------------------------------

Deno.test({
  name: `fuzz: ${COUNT} random and mutated requests to every route, then a real-socket slice`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    console.log(`  fuzz seed ${SEED} (reproduce: FUZZ_SEED=${SEED} FUZZ_COUNT=${COUNT})`);
    const lm = await startFakeLmStudio();
    const logs: string[] = [];
    const log = (m: string) => logs.push(m);
    const env = { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_REQUEST_TIMEOUT: "5" };
    const deps = { fetch: sandboxFetch(lm.port), log, env };
    const open = await testApp(deps);
    // The fuzz sends wrong tokens by the hundred from one address: it is about 5xx and stored
    // corruption, so the guessing throttle (its own tests: throttle_test.ts) lets everything
    // through here, or the closing check with the right token could land in a wait window.
    const token = await testApp({
      ...deps,
      config: { accessToken: TOKEN },
      signIn: { check: () => ({ ok: true }), failed() {}, succeeded() {} },
    });
    const targets: Target[] = [{ name: "open", app: open.app }, { name: "token", app: token.app }];
    const routes = routeTable(open.app);
    assert(routes.length >= 8, "the route table was read");
    console.log(
      `  ${routes.length} routes: ${routes.map((r) => `${r.method} ${r.pattern}`).join(", ")}`,
    );

    const rng = new Rng(SEED);
    const seeds = seedBodies();
    const corpus: Corpus = new Map();
    const ids: string[] = [];
    const statuses = new Map<number, number>();
    const byPattern = new Map<string, number>();
    const failures: string[] = [];
    let unsendable = 0;
    let sent = 0;
    const t0 = performance.now();
    try {
      for (let i = 0; i < COUNT; i++) {
        const p = plan(rng, targets, routes, ids, seeds, corpus);
        let req: Request;
        try {
          req = new Request(p.url, { method: p.method, headers: p.headers, body: p.body });
        } catch {
          unsendable++; // e.g. a header value the Headers class refuses: not an app concern
          continue;
        }
        sent++;
        byPattern.set(p.pattern, (byPattern.get(p.pattern) ?? 0) + 1);
        let problem: string | null;
        try {
          const res = await withTimeout(
            Promise.resolve(p.target.app.fetch(req)),
            REQUEST_TIMEOUT_MS,
            describe(p),
          );
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status < 300 && p.value !== undefined) {
            const learned = corpus.get(p.pattern) ?? [];
            if (learned.length < 64) corpus.set(p.pattern, [...learned, p.value]);
          }
          problem = await withTimeout(check(req, res, ids), REQUEST_TIMEOUT_MS, describe(p));
        } catch (e) {
          problem = `threw ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
        }
        if (problem && failures.length < 25) {
          failures.push(`#${i} ${describe(p)}\n    → ${problem}`);
        } else if (problem) failures.push("");
      }
      const seconds = (performance.now() - t0) / 1000;
      const histogram = [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`);
      console.log(
        `  in-process: ${sent} requests (${unsendable} unsendable skipped) in ${
          seconds.toFixed(1)
        } s = ${Math.round(sent / seconds)} req/s`,
      );
      console.log(`  status histogram: ${histogram.join(" ")}`);
      console.log(
        `  per route: ${
          [...byPattern].map(([k, n]) => `${k}=${n}`).join(", ")
        }; ids harvested: ${ids.length}`,
      );

      // The real socket: a slice of generated requests, then raw ones fetch cannot send.
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        open.app.fetch,
      );
      const port = server.addr.port;
      const socketStatuses = new Map<number, number>();
      const t1 = performance.now();
      try {
        let n = 0;
        while (n < SOCKET_COUNT) {
          const p = plan(rng, [targets[0], targets[0]], routes, ids, seeds, corpus);
          if (p.body instanceof ReadableStream || p.headers["content-length"]) continue;
          let url: URL;
          try {
            url = new URL(p.url);
          } catch {
            continue;
          }
          const target = `http://127.0.0.1:${port}${url.pathname}${url.search}`;
          const { host: _host, ...headers } = p.headers;
          let res: Response;
          try {
            res = await withTimeout(
              fetch(target, { method: p.method, headers, body: p.body, redirect: "manual" }),
              REQUEST_TIMEOUT_MS,
              describe(p),
            );
          } catch (e) {
            if (e instanceof TypeError && !String(e.message).includes("connection")) continue;
            failures.push(`socket ${describe(p)}\n    → ${e}`);
            n++;
            continue;
          }
          n++;
          socketStatuses.set(res.status, (socketStatuses.get(res.status) ?? 0) + 1);
          const problem = await withTimeout(
            check(new Request(target, { method: p.method }), res, ids),
            REQUEST_TIMEOUT_MS,
            describe(p),
          ).catch((e) => String(e));
          if (problem) failures.push(`socket ${describe(p)}\n    → ${problem}`);
        }
        const raw = await rawSlice(port);
        const closed = raw.filter(([, status]) => status === 0).map(([what]) => what);
        if (closed.length) {
          console.log(`  raw requests closed without an answer: ${closed.join(", ")}`);
        }
        for (const [what, status] of raw) {
          socketStatuses.set(status, (socketStatuses.get(status) ?? 0) + 1);
          if (status >= 500) failures.push(`raw ${what} → ${status}`);
        }
        const seconds1 = (performance.now() - t1) / 1000;
        console.log(
          `  socket: ${n} fetch + ${raw.length} raw requests in ${
            seconds1.toFixed(1)
          } s; statuses ${
            [...socketStatuses].sort((a, b) => a[0] - b[0]).map(([s, c]) => `${s}:${c}`).join(" ")
          }`,
        );
        const health = await fetch(`http://127.0.0.1:${port}/api/health`);
        assertEquals(health.status, 200, "still serving after the socket fuzz");
        await health.body?.cancel();
      } finally {
        await server.shutdown();
      }

      // Nothing was corrupted: stored settings all still validate, and both apps still serve.
      for (const t of targets) {
        const res = await t.app.request("/api/settings", {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        assertEquals(res.status, 200);
        const view = await res.json();
        const invalid = (view.warnings as string[]).filter((w) => w.includes("no longer valid"));
        assertEquals(invalid, [], "no invalid value was ever stored");
      }
      const unexpected = logs.filter((l) => l.startsWith("Unexpected error"));
      if (unexpected.length) {
        failures.push(`log: ${unexpected.length} unexpected errors, first: ${unexpected[0]}`);
      }
      assert(sent >= 10_000 || COUNT < 10_000, `only ${sent} requests were sent`);
      if (failures.length) {
        fail(
          `${failures.length} problem(s) with seed ${SEED}:\n${
            failures.filter(Boolean).join("\n")
          }`,
        );
      }
    } finally {
      token.shutdown.abort();
      open.shutdown.abort();
      // Let cancelled runs settle before the KV handles close.
      await new Promise((r) => setTimeout(r, 200));
      token.close();
      open.close();
      await lm.close();
    }
  },
});

/** Raw HTTP/1.1 requests that `fetch` will not send; each must get a non-5xx answer or a close. */
async function rawSlice(port: number): Promise<[string, number][]> {
  const h = `Host: 127.0.0.1:${port}\r\nConnection: close`;
  const cases: [string, string | Uint8Array][] = [
    ["NUL in target", `GET /api/se\u0000ttings HTTP/1.1\r\n${h}\r\n\r\n`],
    ["raw space in target", `GET /api/set tings HTTP/1.1\r\n${h}\r\n\r\n`],
    ["non-ASCII target", `GET /api/\u00e9\u00ff HTTP/1.1\r\n${h}\r\n\r\n`],
    ["dot segments", `GET /api/../api/./settings HTTP/1.1\r\n${h}\r\n\r\n`],
    ["encoded dot segments", `GET /static/%2e%2e/%2e%2e/deno.json HTTP/1.1\r\n${h}\r\n\r\n`],
    ["backslashes", `GET /static/..\\..\\deno.json HTTP/1.1\r\n${h}\r\n\r\n`],
    ["absolute-form", `GET http://evil.example/api/settings HTTP/1.1\r\n${h}\r\n\r\n`],
    ["asterisk-form", `OPTIONS * HTTP/1.1\r\n${h}\r\n\r\n`],
    ["no Host", "GET /api/settings HTTP/1.1\r\nConnection: close\r\n\r\n"],
    ["HTTP/1.0", "GET /api/settings HTTP/1.0\r\n\r\n"],
    ["duplicate Host", `GET /api/settings HTTP/1.1\r\n${h}\r\nHost: evil.example\r\n\r\n`],
    ["foreign Host", "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"],
    ["empty Host", "GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"],
    ["TRACE", `TRACE /api/settings HTTP/1.1\r\n${h}\r\n\r\n`],
    ["CONNECT", `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n${h}\r\n\r\n`],
    ["lowercase method", `patch /api/settings HTTP/1.1\r\n${h}\r\n\r\n`],
    ["bad method chars", `GE(T /api/settings HTTP/1.1\r\n${h}\r\n\r\n`],
    ["huge header", `GET /api/settings HTTP/1.1\r\n${h}\r\nX-Big: ${"b".repeat(70_000)}\r\n\r\n`],
    [
      "many headers",
      `GET /api/settings HTTP/1.1\r\n${h}\r\n${"X-A: 1\r\n".repeat(500)}\r\n`,
    ],
    ["header without colon", `GET /api/settings HTTP/1.1\r\n${h}\r\nBroken\r\n\r\n`],
    ["obs-fold", `GET /api/settings HTTP/1.1\r\n${h}\r\nX-A: 1\r\n  folded\r\n\r\n`],
    [
      "bytes 0x80-0xff in header",
      `GET /api/settings HTTP/1.1\r\n${h}\r\nX-A: \u00c0\u00ff\r\n\r\n`,
    ],
    [
      "CL and TE (smuggling)",
      `POST /api/research HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/settings HTTP/1.1\r\n${h}\r\n\r\n`,
    ],
    [
      "two Content-Lengths",
      `PATCH /api/settings HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    ],
    [
      "bad chunk size",
      `PATCH /api/settings HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    ],
    [
      "oversized chunked body",
      `PATCH /api/settings HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n11800\r\n${
        " ".repeat(0x11800)
      }\r\n0\r\n\r\n`,
    ],
    [
      "Content-Length larger than the body",
      `PATCH /api/settings HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}`,
    ],
    [
      "negative Content-Length",
      `PATCH /api/settings HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}`,
    ],
    [
      "invalid UTF-8 JSON",
      Uint8Array.from([
        ...enc.encode(
          `PATCH /api/settings HTTP/1.1\r\n${h}\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n`,
        ),
        0x22,
        0xc3,
        0x28,
        0x22,
      ]),
    ],
    [
      "pipelined requests",
      `GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/settings HTTP/1.1\r\n${h}\r\n\r\n`,
    ],
    ["HTTP/2.0 request line", `GET /api/settings HTTP/2.0\r\n${h}\r\n\r\n`],
    ["HTTP/9", `GET /api/settings HTTP/9.9\r\n${h}\r\n\r\n`],
    ["garbage", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003"],
    ["half a request", `GET /api/sett`],
    ["very long target", `GET /${"a".repeat(100_000)} HTTP/1.1\r\n${h}\r\n\r\n`],
  ];
  const out: [string, number][] = [];
  for (const [what, request] of cases) {
    const res = await rawRequest(port, request, { timeoutMs: 5000, closeWrite: true });
    out.push([what, res.status]);
  }
  return out;
}
