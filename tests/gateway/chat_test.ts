import OpenAI from "openai";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { loadedModel } from "../fakes/lmstudio.ts";
import { startFakeLlamaCpp } from "../fakes/llamacpp.ts";
import { events, HELLO, startRig } from "./setup.ts";

const REPLY = "Hello from the fake LM Studio.";
// The fake's default loaded model has a 4096-token context: 80 % of it.
const CAP_4096 = Math.floor(4096 * 0.8);

Deno.test("the openai client gets a non-streamed completion through /v1", async () => {
  const rig = await startRig();
  try {
    const r = await rig.client.chat.completions.create({
      model: "qwen2.5-7b-instruct",
      messages: HELLO,
      temperature: 0.2,
      seed: 7,
    });
    assertEquals(r.choices[0].message.content, REPLY);
    assertEquals(r.model, "qwen2.5-7b-instruct");
    const [sent] = rig.lm.chatRequests();
    const body = sent.body as Record<string, unknown>;
    // Client fields pass through untouched; the provider's key (LM Studio's placeholder) is used.
    assertEquals(body.temperature, 0.2);
    assertEquals(body.seed, 7);
    assertEquals(body.messages, HELLO);
    assertEquals(body.stream_options, undefined);
    assertEquals(sent.headers.authorization, "Bearer not-required");
  } finally {
    await rig.close();
  }
});

Deno.test("the openai client streams through /v1 and the usage chunk it did not ask for is hidden", async () => {
  const rig = await startRig({ fake: { tokenDelayMs: 2 } });
  try {
    const stream = await rig.client.chat.completions.create({
      model: "qwen2.5-7b-instruct",
      messages: HELLO,
      stream: true,
    });
    let text = "";
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta?.content ?? "";
    }
    assertEquals(text, REPLY);
    assert(chunks.every((c) => c.choices.length === 1 && !c.usage), "no usage-only chunk");
    assertEquals(chunks.at(-1)!.choices[0].finish_reason, "stop");
    const body = rig.lm.chatRequests()[0].body as Record<string, unknown>;
    assertEquals(body.stream_options, { include_usage: true }, "usage asked upstream");
  } finally {
    await rig.close();
  }
});

Deno.test("a stream that asks for usage gets the usage chunk", async () => {
  const rig = await startRig();
  try {
    const stream = await rig.client.chat.completions.create({
      model: "qwen2.5-7b-instruct",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    assertEquals(last.choices, []);
    assertEquals(last.usage?.completion_tokens, 6);
  } finally {
    await rig.close();
  }
});

Deno.test("max_tokens is capped at 80 % of the loaded context, kept when smaller, filled when absent", async () => {
  const rig = await startRig();
  try {
    const ask = (extra: Record<string, unknown>) =>
      rig.client.chat.completions.create({
        model: "qwen2.5-7b-instruct",
        messages: HELLO,
        ...extra,
      } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    await ask({ max_tokens: 100_000 });
    await ask({ max_tokens: 50 });
    await ask({});
    await ask({ max_completion_tokens: 9000 });
    const sent = rig.lm.chatRequests().map((r) => r.body as Record<string, unknown>);
    assertEquals(sent[0].max_tokens, CAP_4096);
    assertEquals(sent[1].max_tokens, 50);
    assertEquals(sent[2].max_tokens, CAP_4096, "llm.max_tokens (30000) capped");
    assertEquals(sent[3].max_completion_tokens, CAP_4096);
    assertEquals(sent[3].max_tokens, undefined, "the client's field is the one capped");
  } finally {
    await rig.close();
  }
});

Deno.test("the cap follows the model's real loaded context, not the local default", async () => {
  const rig = await startRig({ fake: { models: [loadedModel("big-ctx", 32768)] } });
  try {
    await rig.client.chat.completions.create({
      model: "big-ctx",
      messages: HELLO,
      max_tokens: 100_000,
    });
    assertEquals(
      (rig.lm.chatRequests()[0].body as Record<string, unknown>).max_tokens,
      Math.floor(32768 * 0.8),
    );
  } finally {
    await rig.close();
  }
});

Deno.test("max_tokens is never sent when llm.supports_max_tokens is off", async () => {
  const rig = await startRig({ env: { LDR_LLM_SUPPORTS_MAX_TOKENS: "false" } });
  try {
    await rig.client.chat.completions.create({
      model: "qwen2.5-7b-instruct",
      messages: HELLO,
      max_tokens: 10,
    });
    await rig.client.chat.completions.create({ model: "qwen2.5-7b-instruct", messages: HELLO });
    for (const r of rig.lm.chatRequests()) {
      assertEquals("max_tokens" in (r.body as object), false);
    }
  } finally {
    await rig.close();
  }
});

Deno.test("the model is filled in when absent: llm.model, else the one loaded chat model", async () => {
  const rig = await startRig();
  try {
    await rig.post("/v1/chat/completions", { messages: HELLO });
    assertEquals(
      (rig.lm.chatRequests()[0].body as Record<string, unknown>).model,
      "qwen2.5-7b-instruct",
    );
  } finally {
    await rig.close();
  }
  const pinned = await startRig({ env: { LDR_LLM_MODEL: "google/gemma-4-26b-a4b" } });
  try {
    await pinned.post("/v1/chat/completions", { messages: HELLO });
    assertEquals(
      (pinned.lm.chatRequests()[0].body as Record<string, unknown>).model,
      "google/gemma-4-26b-a4b",
    );
  } finally {
    await pinned.close();
  }
});

Deno.test("with several models loaded and none named, the client is told to pick one (404)", async () => {
  const rig = await startRig({
    fake: { models: [loadedModel("a", 4096), loadedModel("b", 4096)] },
  });
  try {
    const res = await rig.post("/v1/chat/completions", { messages: HELLO });
    assertEquals(res.status, 404);
    const body = await res.json();
    assertEquals(body.error.code, "model_not_found");
    assertStringIncludes(body.error.message, "a, b");
    assertEquals(rig.lm.chatRequests().length, 0);
  } finally {
    await rig.close();
  }
});

Deno.test("GET /v1/models lists the active provider's chat models in OpenAI's format", async () => {
  const rig = await startRig();
  try {
    const page = await rig.client.models.list();
    assertEquals(page.data.map((m) => m.id), ["qwen2.5-7b-instruct", "google/gemma-4-26b-a4b"]);
    assertEquals(page.data[0].object, "model");
    assertEquals(page.data[0].owned_by, "lmstudio");
    const one = await rig.client.models.retrieve("google/gemma-4-26b-a4b");
    assertEquals(one.id, "google/gemma-4-26b-a4b");
    const missing = await fetch(
      `${rig.url}/v1/models/text-embedding-nomic-embed-text-v1.5-embedding`,
    );
    assertEquals(missing.status, 404);
    assertEquals((await missing.json()).error.code, "model_not_found");
  } finally {
    await rig.close();
  }
});

Deno.test("a provider prefix routes to another provider; other ids with a slash stay model ids", async () => {
  const llama = await startFakeLlamaCpp();
  const rig = await startRig({ env: { LDR_LLM_LLAMACPP_URL: llama.url } });
  try {
    const r = await rig.client.chat.completions.create({
      model: "llamacpp/tiny-random",
      messages: HELLO,
      max_tokens: 5000,
    });
    assertEquals(r.model, "tiny-random");
    const sent = llama.requests.find((q) => q.path === "/v1/chat/completions")!;
    const body = sent.body as Record<string, unknown>;
    assertEquals(body.model, "tiny-random");
    assertEquals(body.max_tokens, Math.floor(256 * 0.8), "capped by llama.cpp's n_ctx");
    assertEquals(rig.lm.chatRequests().length, 0);
    await rig.client.chat.completions.create({ model: "google/gemma-4-26b-a4b", messages: HELLO });
    assertEquals(
      (rig.lm.chatRequests()[0].body as Record<string, unknown>).model,
      "google/gemma-4-26b-a4b",
    );
  } finally {
    await rig.close();
    await llama.close();
  }
});

Deno.test("an LM Studio model id that starts with a provider name is not routed away", async () => {
  const rig = await startRig({
    fake: { models: [loadedModel("openai/gpt-oss-20b", 8192), loadedModel("other", 4096)] },
    env: { LDR_LLM_OPENAI_API_KEY: "sk-test-not-used" },
  });
  try {
    await rig.client.chat.completions.create({ model: "openai/gpt-oss-20b", messages: HELLO });
    assertEquals(
      (rig.lm.chatRequests()[0].body as Record<string, unknown>).model,
      "openai/gpt-oss-20b",
    );
    assert(!rig.fetched.some((u) => u.includes("api.openai.com")), "nothing went to the cloud");
  } finally {
    await rig.close();
  }
});

Deno.test("routing to the OpenAI cloud without a key is refused before anything leaves", async () => {
  const rig = await startRig();
  try {
    const res = await rig.post("/v1/chat/completions", { model: "openai/gpt-4o", messages: HELLO });
    assertEquals(res.status, 401);
    const body = await res.json();
    assertEquals(body.error.type, "authentication_error");
    assertStringIncludes(body.error.message, "llm.openai.api_key");
    assert(!rig.fetched.some((u) => u.includes("api.openai.com")), "nothing went to the cloud");
  } finally {
    await rig.close();
  }
});

Deno.test("curl-like raw requests stream SSE bytes and get JSON for non-streams", async () => {
  const rig = await startRig();
  try {
    const res = await rig.post("/v1/chat/completions", {
      model: "qwen2.5-7b-instruct",
      messages: HELLO,
      stream: true,
    });
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/event-stream");
    const text = await res.text();
    const list = events(text);
    assert(text.startsWith("data: {"), text.slice(0, 40));
    assert(text.endsWith("data: [DONE]\n\n"));
    // 6 tokens + finish + [DONE]; the usage chunk is gone.
    assertEquals(list.length, 8);
    assert(!text.includes('"usage"'));
    const plain = await rig.post("/v1/chat/completions", {
      model: "qwen2.5-7b-instruct",
      messages: HELLO,
    });
    assertEquals(plain.headers.get("content-type"), "application/json; charset=utf-8");
    assertEquals((await plain.json()).choices[0].message.content, REPLY);
  } finally {
    await rig.close();
  }
});

Deno.test("every gateway response carries Server-Timing with deepstudio's own time", async () => {
  const rig = await startRig();
  try {
    const timing =
      /^ds;dur=\d+(\.\d+)?;desc="deepstudio"(, upstream;dur=\d+(\.\d+)?;desc="upstream")?$/;
    const responses = [
      await rig.post("/v1/chat/completions", { model: "qwen2.5-7b-instruct", messages: HELLO }),
      await rig.post("/v1/chat/completions", {
        model: "qwen2.5-7b-instruct",
        messages: HELLO,
        stream: true,
      }),
      await fetch(`${rig.url}/v1/models`),
      await rig.post("/v1/chat/completions", "{not json"),
      await fetch(`${rig.url}/v1/nothing-here`),
    ];
    for (const res of responses) {
      await res.body?.cancel();
      assertMatch(res.headers.get("server-timing") ?? "", timing);
    }
    assertStringIncludes(responses[0].headers.get("server-timing")!, "upstream;dur=");
  } finally {
    await rig.close();
  }
});

Deno.test("deepstudio's own refusals on /v1 are in OpenAI's error format", async () => {
  const rig = await startRig();
  try {
    const cases: [Response, number, string | null][] = [
      [await rig.post("/v1/chat/completions", "{not json"), 400, null],
      [await rig.post("/v1/chat/completions", "[1,2]"), 400, null],
      [await rig.post("/v1/chat/completions", { model: "x" }), 400, "messages"],
      [await rig.post("/v1/chat/completions", { messages: "hi" }), 400, "messages"],
      [
        await rig.post("/v1/chat/completions", { messages: HELLO, max_tokens: "ten" }),
        400,
        "max_tokens",
      ],
      [await rig.post("/v1/chat/completions", { messages: HELLO, stream: "yes" }), 400, "stream"],
      [await fetch(`${rig.url}/v1/chat/completions`), 405, null],
      [await fetch(`${rig.url}/v1/embeddings`, { method: "POST" }), 404, null],
    ];
    for (const [res, status, param] of cases) {
      assertEquals(res.status, status, res.url);
      const body = await res.json();
      assertEquals(Object.keys(body), ["error"]);
      assertEquals(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
      assertEquals(typeof body.error.message, "string");
      assertEquals(body.error.param, param);
    }
    assertEquals(rig.lm.chatRequests().length, 0, "nothing was forwarded");
    try {
      await rig.client.chat.completions.create({ messages: undefined } as never);
      assert(false, "expected an error");
    } catch (e) {
      assert(e instanceof OpenAI.BadRequestError, String(e));
      assertStringIncludes(e.message, "messages");
    }
  } finally {
    await rig.close();
  }
});

Deno.test("a /v1 stream from llama.cpp keeps its timings on the finish chunk, as a direct call does", async () => {
  const llama = await startFakeLlamaCpp();
  const rig = await startRig({
    env: { LDR_LLM_PROVIDER: "llamacpp", LDR_LLM_LLAMACPP_URL: llama.url },
  });
  try {
    const ask = { model: "tiny-random", messages: HELLO, max_tokens: 5, stream: true };
    const direct = await (await fetch(`${llama.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ask),
    })).text();
    const relayed = await (await rig.post("/v1/chat/completions", ask)).text();
    const upstream = llama.requests.filter((q) => q.path === "/v1/chat/completions").at(-1)!;
    assertEquals(
      (upstream.body as { stream_options?: unknown }).stream_options,
      { include_usage: true },
      "deepstudio asked for usage upstream",
    );
    const chunks = (text: string) =>
      events(text).filter((e) => e !== "data: [DONE]").map((e) => JSON.parse(e.slice(6)));
    const finish = (text: string) => chunks(text).find((c) => c.choices[0]?.finish_reason);
    assert(finish(direct).timings, "llama.cpp puts timings on the finish chunk");
    assertEquals(Object.keys(finish(relayed)), Object.keys(finish(direct)));
    assertEquals(Object.keys(finish(relayed).timings), Object.keys(finish(direct).timings));
    assertEquals(chunks(relayed).length, chunks(direct).length, "no usage chunk was added");
    assert(!relayed.includes('"usage"'));
  } finally {
    await rig.close();
    await llama.close();
  }
});
