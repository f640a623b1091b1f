/**
 * Passage ranking through the real embedding path: `search.embedding_model` set, the run's
 * provider (LM Studio) adapter's `embed` slot posting `/v1/embeddings` over HTTP to a fake that
 * answers in LM Studio's documented bytes (tests/fakes/embeddings.ts, docs/embeddings.md), and
 * the answer prompt's passages numbered in the order those vectors give, which here differs from
 * keyword ranking. A failing embedding server is a progress note and keyword ranking, never a
 * failed run. LM Studio's chat and embeddings share one URL, so a small pass-through in front
 * of the two fakes gives them one address (it forwards bytes and changes nothing).
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { fakeVector, startFakeEmbeddings } from "../fakes/embeddings.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startFakeSearxng } from "../fakes/searxng.ts";
import { keywordRank, vectorRank } from "../../lib/sources/rank.ts";
import type { Passage } from "../../lib/sources/types.ts";
import { harness, readSse } from "../research/support.ts";

const MODEL = "text-embedding-nomic-embed-text-v1.5";
const DIMS = 64;
const QUESTION = "How do beekeepers calm the bees?";
/** Snippets (the result URLs are private, not fetched: each snippet is its source's passage). */
const TEXTS = [
  "Beekeepers use a smoker; the smoke calms bees before a hive is opened.",
  "How do you do it? The bees: how do they know what the keepers do?",
  "Varroa mites weaken colonies in late summer and autumn.",
];

/** One address for both fakes: `/v1/embeddings` to one, everything else to the other. */
function passThrough(chatUrl: string, embedUrl: string) {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const u = new URL(req.url);
      const base = u.pathname === "/v1/embeddings" ? embedUrl : chatUrl;
      const res = await fetch(`${base}${u.pathname}${u.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      });
      return new Response(res.body, { status: res.status, headers: res.headers });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

async function setup() {
  const emb = await startFakeEmbeddings({ family: "lmstudio", dims: DIMS, model: MODEL });
  const lm = await startFakeLmStudio({ reply: "Smoke calms them [1]." });
  const proxy = passThrough(lm.url, emb.url);
  const searx = startFakeSearxng({
    results: TEXTS.map((content, i) => ({
      url: `http://127.0.0.1:9/page-${i}`,
      title: `Page ${i}`,
      content,
    })),
  });
  const h = await harness({
    lm,
    env: {
      LDR_LLM_LMSTUDIO_URL: proxy.url,
      LDR_SEARCH_SEARXNG_URL: searx.url,
      LDR_SEARCH_EMBEDDING_MODEL: MODEL,
    },
  });
  return {
    emb,
    lm,
    h,
    /** The answer prompt's passages, in their numbered order. */
    promptOrder(): string[] {
      const prompt = lm.chatRequests().map((r) => JSON.stringify(r.body)).find((b) =>
        b.includes("Sources:")
      );
      assert(prompt, "an answer prompt with sources was sent");
      return [...prompt.matchAll(/\[(\d)\] Page (\d)/g)].map((m) => `${m[1]}:Page ${m[2]}`);
    },
    async close() {
      await h.close();
      await lm.close();
      await proxy.close();
      await searx.close();
      await emb.close();
    },
  };
}

Deno.test("select ranks passages by the configured embedding model over the real wire", async () => {
  // The data must tell the two rankings apart, or this test would prove nothing.
  const ps: Passage[] = TEXTS.map((text, i) => ({ id: `${i}:0`, source: i, ord: 0, text }));
  const byVector = vectorRank(
    fakeVector(QUESTION, DIMS),
    ps,
    TEXTS.map((t) => fakeVector(t, DIMS)),
  ).filter((r) => r.score > 0).map((r) => r.passage.source);
  const byKeyword = keywordRank(QUESTION, ps).filter((r) => r.score > 0).map((r) =>
    r.passage.source
  );
  assert(byVector[0] !== byKeyword[0], `rankings agree: ${byVector} / ${byKeyword}`);

  const t = await setup();
  try {
    const { status, json } = await t.h.post({ query: QUESTION, sources: { engines: ["searxng"] } });
    assertEquals(status, 202, JSON.stringify(json));
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    // The question and every passage went to the embedding model, in one request.
    const calls = t.emb.requests;
    assertEquals(calls.length, 1, JSON.stringify(calls));
    assertEquals(calls[0].model, MODEL);
    assertEquals(calls[0].input[0], QUESTION);
    assertEquals([...calls[0].input.slice(1)].sort(), [...TEXTS].sort());
    // Source i is titled "Page i": the prompt numbers them in the vectors' order.
    const order = t.promptOrder().map((s) => Number(s.split("Page ")[1]));
    assertEquals(order.slice(0, byVector.length), byVector);
  } finally {
    await t.close();
  }
});

Deno.test("an embedding server that fails means keyword ranking and a note, not a failed run", async () => {
  const t = await setup();
  try {
    t.emb.set({ fault: "not_loaded" });
    const { json } = await t.h.post({ query: QUESTION, sources: { engines: ["searxng"] } });
    const run = await t.h.waitRun(json.id as string);
    assertEquals(run.status, "completed", run.text);
    assert(t.emb.requests.length >= 1, "the embedding model was asked");
    const { events } = await readSse(`${t.h.url}/api/research/${run.id}/events`);
    const notes = events.filter((e) => e.event === "progress").map((e) => String(e.data.message));
    const note = notes.find((m) => m.startsWith("Embedding failed"));
    assert(note, notes.join("\n"));
    assertStringIncludes(note, "ranked by keywords");
    const order = t.promptOrder().map((s) => Number(s.split("Page ")[1]));
    const ps: Passage[] = TEXTS.map((text, i) => ({ id: `${i}:0`, source: i, ord: 0, text }));
    assertEquals(order[0], keywordRank(QUESTION, ps)[0].passage.source);
  } finally {
    await t.close();
  }
});
