/** Embeddings through the adapters' slot against fake servers speaking the documented bytes. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { nestsDeeper, ollamaEmbed, openAiEmbed } from "../../lib/providers/embed_wire.ts";
import { ProviderError } from "../../lib/providers/errors.ts";
import { PROVIDERS } from "../../lib/providers/records.ts";
import { resolveWith } from "../../lib/providers/resolve.ts";
import type { SlotContext } from "../../lib/providers/adapter.ts";
import { DimensionError, Embedder, type EmbedderOptions } from "../../lib/library/embedder.ts";
import { prefixRuleFor } from "../../lib/library/prefixes.ts";
import { type FakeEmbeddingOptions, startFakeEmbeddings } from "../fakes/embeddings.ts";

async function withFake(
  options: FakeEmbeddingOptions,
  fn: (fake: Awaited<ReturnType<typeof startFakeEmbeddings>>, ctx: SlotContext) => Promise<void>,
) {
  const fake = await startFakeEmbeddings(options);
  const id = options.family === "ollama"
    ? "ollama"
    : options.family === "llamacpp"
    ? "llamacpp"
    : "lmstudio";
  const ctx: SlotContext = {
    deps: { fetch, now: Date.now, inContainer: false },
    provider: resolveWith(PROVIDERS[id], fake.url, ""),
  };
  try {
    await fn(fake, ctx);
  } finally {
    await fake.close();
  }
}

const upstream = async (p: Promise<unknown>) =>
  ((await assertRejects(() => p, ProviderError)) as ProviderError).error;

Deno.test("LM Studio: vectors in input order, the nomic prefixes on documents and queries", () =>
  withFake({ family: "lmstudio", dims: 16 }, async (fake, ctx) => {
    const model = "text-embedding-nomic-embed-text-v1.5";
    const embedder = new Embedder({
      call: (req, signal) => openAiEmbed({ ...ctx, signal }, req),
      model,
      prefix: prefixRuleFor(model),
      dimensions: null,
      batchSize: 2,
    });
    const batches: number[] = [];
    const vectors = await embedder.embedDocuments([
      "alpha beta",
      "gamma",
      "delta",
      "epsilon zeta",
      "eta",
    ], {
      onBatch: (start) => void batches.push(start),
    });
    assertEquals(vectors.length, 5);
    assertEquals(embedder.dimensions, 16);
    assertEquals(batches.sort(), [0, 2, 4]);
    assertEquals(fake.requests.map((r) => r.input.length).sort(), [1, 2, 2]);
    assert(
      fake.requests.every((r) =>
        r.model === model && r.input.every((t) => t.startsWith("search_document: "))
      ),
    );
    await embedder.embedQuery("gamma");
    assertEquals(fake.requests.at(-1)!.input, ["search_query: gamma"]);
    // Same text, same vector: order was kept across batches.
    const again = await embedder.embedDocuments(["delta"]);
    assertEquals(Array.from(again[0]), Array.from(vectors[2]));
  }));

Deno.test("prefix table: e5, bge, none", () => {
  assertEquals(prefixRuleFor("intfloat/multilingual-e5-large").document, "passage: ");
  assertEquals(
    prefixRuleFor("bge-small-en-v1.5").query,
    "Represent this sentence for searching relevant passages: ",
  );
  assertEquals(prefixRuleFor("all-minilm").document, "");
  assertEquals(prefixRuleFor("text-embedding-nomic-embed-text-v1.5").family, "nomic");
});

Deno.test("llama.cpp: recorded failures become typed errors with the fix in the hint", () =>
  withFake(
    { family: "llamacpp", dims: 64, model: "tiny-random", batchTokens: 8 },
    async (fake, ctx) => {
      const tooLong = await upstream(
        openAiEmbed(ctx, { model: "tiny-random", input: ["a b c d e f g h i j k"] }),
      );
      assertEquals(tooLong.kind, "token_limit");
      assertEquals(tooLong.promptTokens, 12);
      assertStringIncludes(tooLong.hint, "-ub");
      fake.set({ fault: "no_pooling" });
      const pooling = await upstream(openAiEmbed(ctx, { model: "tiny-random", input: ["x"] }));
      assertEquals(pooling.kind, "bad_request");
      assertStringIncludes(pooling.hint, "--pooling mean");
      fake.set({ fault: "none" });
      let received = 0;
      const ok = await openAiEmbed(ctx, {
        model: "tiny-random",
        input: ["one", "two"],
        received: () => received++,
      });
      assertEquals(received, 1); // once, when the answer's head was in
      assertEquals(ok.vectors.length, 2);
      assertEquals(ok.vectors[0].length, 64);
      assertEquals(ok.promptTokens, 4);
    },
  ));

Deno.test("Ollama: /api/embed", () =>
  withFake({ family: "ollama", dims: 8, model: "nomic-embed-text" }, async (fake, ctx) => {
    const out = await ollamaEmbed(ctx, { model: "nomic-embed-text", input: ["a", "b", "c"] });
    assertEquals(out.vectors.length, 3);
    assertEquals(fake.requests[0].path, "/api/embed");
  }));

Deno.test("retries pass 429 and 5xx with backoff, then give up with the typed error", () =>
  withFake(
    { family: "lmstudio", dims: 8, fault: "rate_limit", failTimes: 2 },
    async (fake, ctx) => {
      const waits: number[] = [];
      const embedder = new Embedder({
        call: (req, signal) => openAiEmbed({ ...ctx, signal }, req),
        model: "m",
        prefix: prefixRuleFor("m"),
        dimensions: 8,
        attempts: 3,
        sleep: (ms) => {
          waits.push(ms);
          return Promise.resolve();
        },
      });
      assertEquals((await embedder.embedDocuments(["x"])).length, 1);
      assertEquals(fake.requests.length, 3);
      assertEquals(waits, [0, 0]); // retry-after: 0
      fake.set({ fault: "server_error" });
      const err = await upstream(embedder.embedDocuments(["y"]));
      assertEquals(err.kind, "server_error");
      assertEquals(fake.requests.length, 6);
      assertEquals(waits.length, 4);
      assert(waits[3] > waits[2], "backoff grows");
    },
  ));

Deno.test("not retried: model not loaded; dimensions are checked on every answer", () =>
  withFake({ family: "lmstudio", dims: 8 }, async (fake, ctx) => {
    const embedder = new Embedder({
      call: (req, signal) => openAiEmbed({ ...ctx, signal }, req),
      model: "m",
      prefix: prefixRuleFor("m"),
      dimensions: null,
    });
    await embedder.embedDocuments(["first"]);
    assertEquals(embedder.dimensions, 8);
    fake.set({ fault: "wrong_dimensions" });
    const dim = await assertRejects(() => embedder.embedDocuments(["second"]), DimensionError);
    assertStringIncludes((dim as DimensionError).message, "24-dimensional");
    fake.set({ fault: "not_loaded" });
    const before = fake.requests.length;
    const err = await upstream(embedder.embedDocuments(["third"]));
    assertEquals(err.kind, "model_not_found");
    assertEquals(fake.requests.length, before + 1);
  }));

Deno.test("a server that drops connections is a connection error; cancel stops at once", () =>
  withFake({ family: "lmstudio", dims: 8 }, async (fake, ctx) => {
    await fake.down();
    const err = await upstream(openAiEmbed(ctx, { model: "m", input: ["x"] }));
    assertEquals(err.kind, "connection");
    fake.up();
    fake.set({ delayMs: 2000 });
    const abort = new AbortController();
    const pending = openAiEmbed({ ...ctx, signal: abort.signal }, { model: "m", input: ["x"] });
    setTimeout(() => abort.abort(), 20);
    assertEquals((await upstream(pending)).kind, "cancelled");
    fake.set({ delayMs: 0 });
  }));

Deno.test("LM Studio's 200 with an error body (wrong path) is not an answer", async () => {
  const fake = await startFakeEmbeddings({ family: "lmstudio" });
  try {
    const ctx: SlotContext = {
      deps: { fetch, now: Date.now, inContainer: false },
      provider: resolveWith(PROVIDERS.lmstudio, `${fake.url}/proxy`, ""),
    };
    const err = await upstream(openAiEmbed(ctx, { model: "m", input: ["x"] }));
    assertStringIncludes(err.message, "Unexpected endpoint");
  } finally {
    await fake.close();
  }
});

/**
 * Three documents of 10 texts embedded at once by one embedder (batches of 2, 2 slots) over
 * `call`; each gets its 10 vectors back.
 */
async function embedThreeDocumentsAtOnce(call: EmbedderOptions["call"]) {
  const embedder = new Embedder({
    call,
    model: "text-embedding-nomic-embed-text-v1.5",
    prefix: prefixRuleFor("text-embedding-nomic-embed-text-v1.5"),
    dimensions: null,
    batchSize: 2,
    concurrency: 2,
  });
  const texts = Array.from({ length: 10 }, (_, i) => `text ${i}`);
  const all = await Promise.all([0, 1, 2].map(() => embedder.embedDocuments(texts)));
  assertEquals(all.map((v) => v.length), [10, 10, 10]);
}

Deno.test("embedder: documents embedded at once share its concurrency (at most 2 requests in flight)", async () => {
  let inFlight = 0;
  let most = 0;
  await embedThreeDocumentsAtOnce(async (req) => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    return { vectors: req.input.map(() => [1, 0, 0]), model: req.model };
  });
  assertEquals(most, 2);
});

Deno.test("embedder: a slot is free once the answer's head is in, so the next request overlaps the parse; answers read at once stay bounded", async () => {
  let atServer = 0;
  let most = 0;
  let calls = 0;
  let mostCalls = 0;
  await embedThreeDocumentsAtOnce(async (req) => {
    mostCalls = Math.max(mostCalls, ++calls);
    most = Math.max(most, ++atServer);
    await new Promise((r) => setTimeout(r, 5)); // the server computes
    atServer--;
    req.received?.();
    await new Promise((r) => setTimeout(r, 20)); // the answer is parsed (slower than the server)
    calls--;
    return { vectors: req.input.map(() => [1, 0, 0]), model: req.model };
  });
  assertEquals(most, 2); // still at most two inside the server
  assert(mostCalls > 2, "no request went out while an answer was parsed");
  assert(mostCalls <= 4, `${mostCalls} answers at once: their bodies are not bounded`);
});

Deno.test("embeddings answers: vectors hold only numbers; an error body nested over 64 levels is not read", async () => {
  const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
  assertEquals(nestsDeeper(JSON.parse(nested(64))), false);
  assertEquals(nestsDeeper(JSON.parse(nested(65))), true);
  assertEquals(nestsDeeper(JSON.parse(`{"a":[1,{"b":${nested(61)}}]}`)), false);
  assertEquals(nestsDeeper(JSON.parse(`{"a":[1,{"b":${nested(62)}}]}`)), true);
  let status = 200;
  let body = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(body, { status, headers: { "content-type": "application/json" } }),
  );
  try {
    const ctx: SlotContext = {
      deps: { fetch, now: Date.now, inContainer: false },
      provider: resolveWith(PROVIDERS.lmstudio, `http://127.0.0.1:${server.addr.port}`, ""),
    };
    const input = { model: "m", input: ["x"] };
    body = `{"data":[{"embedding":[1,2],"index":0}],"usage":{"prompt_tokens":[3]}}`;
    const ok = await openAiEmbed(ctx, input);
    assertEquals([ok.vectors, ok.promptTokens], [[[1, 2]], undefined]);
    for (const bad of [`[1,[2]]`, `[1,"2"]`, `[]`, `[1,null]`]) {
      body = `{"data":[{"embedding":${bad},"index":0}]}`;
      assertStringIncludes((await upstream(openAiEmbed(ctx, input))).message, "numeric vectors");
    }
    for (const bad of [`{"data":[null]}`, `{"data":[1]}`, `null`]) {
      body = bad;
      assertEquals((await upstream(openAiEmbed(ctx, input))).kind, "server_error");
    }
    // Error bodies are quoted, so their nesting is bounded (64 levels: body, error, extra, 61).
    status = 500;
    body = `{"error":{"message":"boom","extra":${nested(61)}}}`;
    assertEquals((await upstream(openAiEmbed(ctx, input))).message.includes("boom"), true);
    body = `{"error":{"message":"boom","extra":${nested(62)}}}`;
    const deep = await upstream(openAiEmbed(ctx, input)); // typed, from the text alone
    assertEquals(deep.kind, "server_error");
    assertStringIncludes(deep.message, "HTTP 500");
  } finally {
    await server.shutdown();
  }
});
