import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { searxngEngine } from "../../lib/search/searxng.ts";
import { SearchError, type SearchFailureKind } from "../../lib/search/errors.ts";
import { startFakeSearxng } from "../fakes/searxng.ts";

const RESULTS = [
  {
    url: "https://example.org/a",
    title: "Alpha",
    content: "About alpha.",
    engines: ["duckduckgo", "brave"],
  },
  { url: "https://example.org/b", title: "Beta", content: "About beta.", score: 0.4 },
  { url: "https://example.org/a", title: "Alpha again", content: "dup" },
  { url: "https://example.org/c", title: "", content: "" },
];

async function failure(p: Promise<unknown>, kind: SearchFailureKind) {
  try {
    await p;
  } catch (err) {
    assert(err instanceof SearchError, String(err));
    assertEquals(err.failure.kind, kind, err.failure.message);
    assertEquals(err.failure.engine, "searxng");
    return err.failure;
  }
  throw new Error(`expected ${kind}`);
}

Deno.test("searxng: documented JSON becomes hits; unresponsive engines become notes", async () => {
  const fake = startFakeSearxng({ results: RESULTS, unresponsive: [["google", "timeout"]] });
  try {
    const engine = searxngEngine({ url: fake.url, timeoutMs: 5000 });
    const r = await engine.search("local llm & context", { limit: 10 });
    assertEquals(fake.requests[0].pathname, "/search");
    assertEquals(fake.requests[0].searchParams.get("q"), "local llm & context");
    assertEquals(fake.requests[0].searchParams.get("format"), "json");
    assertEquals(r.hits.map((h) => h.url), [
      "https://example.org/a",
      "https://example.org/b",
      "https://example.org/c",
    ]);
    assertEquals(r.hits[0].via, ["duckduckgo", "brave"]);
    assertEquals(r.hits[0].snippet, "About alpha.");
    assertEquals(r.hits[1].score, 0.4);
    assertEquals(r.hits[2].title, "https://example.org/c");
    assert(r.hits.every((h) => h.engine === "searxng" && h.location === null));
    assertEquals(r.notes, ["SearXNG: google did not answer (timeout)"]);
    const limited = await engine.search("x", { limit: 1 });
    assertEquals(limited.hits.length, 1);
  } finally {
    await fake.close();
  }
});

Deno.test("searxng: 403 (JSON disabled) names the search.formats entry of settings.yml", async () => {
  const fake = startFakeSearxng({ mode: "json_disabled" });
  try {
    const f = await failure(
      searxngEngine({ url: fake.url, timeoutMs: 5000 }).search("q", { limit: 5 }),
      "json_disabled",
    );
    assertEquals(f.status, 403);
    assertStringIncludes(f.hint, "search.formats");
    assertStringIncludes(f.hint, "settings.yml");
    assertStringIncludes(f.hint, "- json");
  } finally {
    await fake.close();
  }
});

Deno.test("searxng: 429, malformed, HTML, down and timeout are typed with hints", async () => {
  const fake = startFakeSearxng({ mode: "limited" });
  try {
    const engine = searxngEngine({ url: fake.url, timeoutMs: 300 });
    const limited = await failure(engine.search("q", { limit: 5 }), "rate_limit");
    assertStringIncludes(limited.hint, "server.limiter: false");
    fake.mode = "malformed";
    await failure(engine.search("q", { limit: 5 }), "malformed");
    fake.mode = "html";
    await failure(engine.search("q", { limit: 5 }), "malformed");
    fake.mode = "hang";
    const slow = await failure(engine.search("q", { limit: 5 }), "timeout");
    assertStringIncludes(slow.hint, "search.fetch_timeout");
    const ac = new AbortController();
    const pending = engine.search("q", { limit: 5, signal: ac.signal });
    ac.abort();
    await failure(pending, "cancelled");
    const wrongPath = searxngEngine({ url: `${fake.url}/nothing`, timeoutMs: 300 });
    fake.mode = "ok";
    const nf = await failure(wrongPath.search("q", { limit: 5 }), "http_status");
    assertEquals(nf.status, 404);
  } finally {
    await fake.close();
  }
  // The fake is closed now: nothing listens on its port.
  const down = await failure(
    searxngEngine({ url: fake.url, timeoutMs: 2000 }).search("q", { limit: 5 }),
    "connection",
  );
  assertStringIncludes(down.hint, "search.searxng.url");
});

Deno.test("searxng: status reports available with latency, or the failure's hint", async () => {
  const fake = startFakeSearxng({ results: RESULTS });
  try {
    const engine = searxngEngine({ url: fake.url, timeoutMs: 2000 });
    const ok = await engine.status();
    assertEquals(ok.state, "available");
    assert(typeof ok.latencyMs === "number");
    fake.mode = "json_disabled";
    const bad = await engine.status();
    assertEquals(bad.state, "unavailable");
    assertStringIncludes(bad.hint ?? "", "search.formats");
  } finally {
    await fake.close();
  }
});

Deno.test("searxng: an answer nested deeper than any real one is malformed, not parsed", async () => {
  const { parseAnswer } = await import("../../lib/search/searxng.ts");
  const deep = `${"[".repeat(100)}${"]".repeat(100)}`;
  const text = `{"results":[{"url":"https://example.org/a","title":"A","extra":${deep}}]}`;
  const f = await failure(Promise.resolve().then(() => parseAnswer(text, 5, "u")), "malformed");
  assertStringIncludes(f.message, "deeper than 64 levels");
  // The same answer at a real depth is read.
  assertEquals(parseAnswer(text.replace(deep, "[]"), 5, "u").hits.length, 1);
});
