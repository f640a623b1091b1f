/**
 * Large embeddings answers parsed off the main thread (lib/providers/embed_parse.ts) give the
 * vectors the inline parse gives, as float32, and every other answer the inline path's error.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { ollamaEmbed, openAiEmbed } from "../../lib/providers/embed_wire.ts";
import {
  OFF_THREAD_MIN_BYTES,
  PARSER_IDLE_MS,
  parserReady,
  parserRunning,
  setParserIdleMs,
} from "../../lib/providers/embed_parse.ts";
import { ProviderError } from "../../lib/providers/errors.ts";
import { PROVIDERS } from "../../lib/providers/records.ts";
import { resolveWith } from "../../lib/providers/resolve.ts";
import type { EmbedResult, SlotContext } from "../../lib/providers/adapter.ts";

/** Inputs and dimensions enough for an answer well over the off-thread threshold. */
const COUNT = 40;
const DIMS = 300;

/** A vector of doubles that float32 rounds (so a missing conversion shows). */
const vector = (i: number) =>
  Array.from({ length: DIMS }, (_, j) => Math.sin(i * 1000 + j) * 0.123456789012345);

/** A server answering every request with `body()` (status `status`). */
async function withServer(
  fn: (
    ctx: (family: "lmstudio" | "ollama") => SlotContext,
    set: (s: number, b: string) => void,
  ) => Promise<void>,
) {
  let status = 200;
  let body = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(body, { status, headers: { "content-type": "application/json" } }),
  );
  const ctx = (family: "lmstudio" | "ollama"): SlotContext => ({
    deps: { fetch, now: Date.now, inContainer: false },
    provider: resolveWith(PROVIDERS[family], `http://127.0.0.1:${server.addr.port}`, ""),
  });
  try {
    await fn(ctx, (s, b) => {
      status = s;
      body = b;
    });
  } finally {
    await server.shutdown();
  }
}

const input = { model: "m", input: Array.from({ length: COUNT }, (_, i) => `text ${i}`) };
const upstream = async (p: Promise<unknown>) =>
  ((await assertRejects(() => p, ProviderError)) as ProviderError).error;
const asFloat32 = (r: EmbedResult) => r.vectors.map((v) => Array.from(new Float32Array(v)));

Deno.test("a large answer parsed off the main thread: the inline parse's vectors as float32, in index order", () =>
  withServer(async (ctx, set) => {
    // Data out of order: the answer is sorted by `index` either way.
    const data = Array.from({ length: COUNT }, (_, i) => ({
      object: "embedding",
      embedding: vector(i),
      index: i,
    })).reverse();
    const answer = JSON.stringify({ data, model: "served", usage: { prompt_tokens: 77 } });
    assert(answer.length > 2 * OFF_THREAD_MIN_BYTES);
    set(200, answer);
    await parserReady(); // until it is up, answers are parsed inline
    const inline = await openAiEmbed(ctx("lmstudio"), input);
    const off = await openAiEmbed(ctx("lmstudio"), { ...input, float32: true });
    assert(Array.isArray(inline.vectors[0]), "without float32 the answer's numbers as they were");
    assert(off.vectors.every((v) => v instanceof Float32Array), "not parsed off the main thread");
    assertEquals(off.vectors.map((v) => Array.from(v)), asFloat32(inline));
    assertEquals(Array.from(off.vectors[3]), Array.from(new Float32Array(vector(3))));
    assertEquals([off.model, off.promptTokens], ["served", 77]);
    // Ollama's shape, without a model: the request's.
    set(200, JSON.stringify({ embeddings: data.map((d) => d.embedding), prompt_eval_count: 5 }));
    const ollama = await ollamaEmbed(ctx("ollama"), { ...input, float32: true });
    assert(ollama.vectors[0] instanceof Float32Array);
    assertEquals(Array.from(ollama.vectors[0]), Array.from(new Float32Array(vector(COUNT - 1))));
    assertEquals([ollama.model, ollama.promptTokens], ["m", 5]);
  }));

Deno.test("a large answer that is not the plain success shape gets the inline path's typed error", () =>
  withServer(async (ctx, set) => {
    const pad = "x".repeat(2 * OFF_THREAD_MIN_BYTES);
    const vectors = Array.from({ length: COUNT }, (_, i) => vector(i));
    const cases: [number, string, (e: ProviderError["error"]) => void][] = [
      // A vector with a string in it.
      [
        200,
        JSON.stringify({
          data: vectors.map((v, index) => ({ embedding: index === 7 ? [...v, "1"] : v, index })),
        }),
        (e) => assertStringIncludes(e.message, "numeric vectors"),
      ],
      // One vector short.
      [
        200,
        JSON.stringify({
          data: vectors.slice(1).map((embedding, index) => ({ embedding, index })),
        }),
        (e) => assertStringIncludes(e.message, `${COUNT} vectors`),
      ],
      // LM Studio's 200 with an error body.
      [
        200,
        JSON.stringify({ error: `Unexpected endpoint ${pad}` }),
        (e) => assertStringIncludes(e.message, "Unexpected endpoint"),
      ],
      // Not JSON at all.
      [200, `<html>${pad}</html>`, (e) => assertStringIncludes(e.message, "answered without JSON")],
      // A failure status with a large body.
      [500, JSON.stringify({ error: { message: `boom ${pad}` } }), (e) => {
        assertEquals(e.kind, "server_error");
        assertStringIncludes(e.message, "boom");
      }],
    ];
    await parserReady();
    for (const [status, body, check] of cases) {
      assert(body.length > OFF_THREAD_MIN_BYTES);
      set(status, body);
      const inline = await upstream(openAiEmbed(ctx("lmstudio"), input));
      const off = await upstream(openAiEmbed(ctx("lmstudio"), { ...input, float32: true }));
      check(off);
      assertEquals(off, inline);
    }
  }));

Deno.test("the parser thread ends once idle; answers are parsed inline until the next one is up", () =>
  withServer(async (ctx, set) => {
    const data = Array.from({ length: COUNT }, (_, i) => ({ embedding: vector(i), index: i }));
    set(200, JSON.stringify({ data }));
    setParserIdleMs(30);
    try {
      await parserReady();
      const first = await openAiEmbed(ctx("lmstudio"), { ...input, float32: true });
      assert(first.vectors[0] instanceof Float32Array);
      for (let i = 0; i < 200 && parserRunning(); i++) await new Promise((r) => setTimeout(r, 10));
      assertEquals(parserRunning(), false, "the idle parser thread did not end");
      // Cold: this one is parsed inline while a new thread starts; the next ones go to it.
      const cold = await openAiEmbed(ctx("lmstudio"), { ...input, float32: true });
      assert(Array.isArray(cold.vectors[0]));
      await parserReady();
      assertEquals(parserRunning(), true);
      const again = await openAiEmbed(ctx("lmstudio"), { ...input, float32: true });
      assert(again.vectors[0] instanceof Float32Array);
      assertEquals(Array.from(again.vectors[5]), Array.from(first.vectors[5]));
      assertEquals(Array.from(again.vectors[5]), Array.from(new Float32Array(cold.vectors[5])));
    } finally {
      setParserIdleMs(PARSER_IDLE_MS);
    }
  }));
