import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { streamChat } from "../../lib/providers/stream.ts";
import type { StreamEvent, UpstreamError } from "../../lib/providers/types.ts";
import { loadedModel, startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startFakeLlamaCpp } from "../fakes/llamacpp.ts";
import { collect, last, provider, refusedUrl, streamDeps, text } from "./support.ts";

const HI = [{ role: "user" as const, content: "hi" }];
const never = () => new AbortController().signal;

function errorOf(ev: StreamEvent): UpstreamError {
  if (ev.type !== "error") throw new Error(`expected an error event, got ${JSON.stringify(ev)}`);
  return ev.error;
}

Deno.test("a stream delivers text, usage, TTFT and tokens/s, and asks for usage", async () => {
  const lm = await startFakeLmStudio({ tokenDelayMs: 5 });
  try {
    const events = await collect(
      streamChat(streamDeps(), provider("lmstudio", lm.url), { messages: HI }, never()),
    );
    assertEquals(text(events), "Hello from the fake LM Studio.");
    const done = last(events);
    assert(done.type === "done");
    assertEquals(done.finishReason, "stop");
    assertEquals(done.metrics.usage?.completionTokens, 6);
    assert(done.metrics.ttftMs !== null && done.metrics.ttftMs >= 0);
    assert(done.metrics.tokensPerSecond !== null && done.metrics.tokensPerSecond > 0);
    assertEquals(done.metrics.model, "qwen2.5-7b-instruct");
    assert(events.some((e) => e.type === "usage"));
    const body = lm.chatRequests()[0].body as Record<string, unknown>;
    assertEquals(body.stream, true);
    assertEquals(body.stream_options, { include_usage: true });
    assertEquals(lm.chatRequests()[0].headers.authorization, "Bearer not-required");
  } finally {
    await lm.close();
  }
});

Deno.test("an empty model setting uses the one loaded chat model", async () => {
  const lm = await startFakeLmStudio();
  try {
    const events = await collect(
      streamChat(
        streamDeps({ "llm.model": "" }),
        provider("lmstudio", lm.url),
        { messages: HI },
        never(),
      ),
    );
    assertEquals(last(events).type, "done");
    assertEquals((lm.chatRequests()[0].body as { model: string }).model, "qwen2.5-7b-instruct");
    assert(!events.some((e) => e.type === "model"), "no mismatch when we chose the loaded model");
  } finally {
    await lm.close();
  }
});

Deno.test("an empty model with two loaded models asks the person to pick one", async () => {
  const lm = await startFakeLmStudio({
    models: [loadedModel("a-model", 4096), loadedModel("b-model", 8192)],
  });
  try {
    const events = await collect(
      streamChat(streamDeps(), provider("lmstudio", lm.url), { messages: HI }, never()),
    );
    const e = errorOf(last(events));
    assertEquals(e.kind, "model_not_found");
    assertStringIncludes(e.message, "LM Studio");
    assertStringIncludes(e.message, "has 2 loaded");
    assertStringIncludes(e.message, "pick one");
    assertEquals(lm.chatRequests().length, 0);
  } finally {
    await lm.close();
  }
});

Deno.test("the server answering with another model than requested is reported", async () => {
  const lm = await startFakeLmStudio();
  try {
    const events = await collect(
      streamChat(
        streamDeps(),
        provider("lmstudio", lm.url),
        { model: "gpt-4o", messages: HI },
        never(),
      ),
    );
    const ev = events.find((e) => e.type === "model");
    assertEquals(ev, { type: "model", model: "qwen2.5-7b-instruct", requested: "gpt-4o" });
  } finally {
    await lm.close();
  }
});

Deno.test("reasoning deltas (reasoning and reasoning_content) come as reasoning events", async () => {
  for (const field of ["reasoning", "reasoning_content"] as const) {
    const lm = await startFakeLmStudio({ reasoning: "let me think", reasoningField: field });
    try {
      const events = await collect(
        streamChat(streamDeps(), provider("lmstudio", lm.url), { messages: HI }, never()),
      );
      const reasoning = events.filter((e) => e.type === "reasoning").map((e) =>
        (e as { text: string }).text
      ).join("");
      assertEquals(reasoning, "let me think", field);
      assertEquals(text(events), "Hello from the fake LM Studio.");
    } finally {
      await lm.close();
    }
  }
});

Deno.test("max_tokens is capped at 80 % of the loaded context and omitted when unsupported", async () => {
  const lm = await startFakeLmStudio();
  try {
    const p = provider("lmstudio", lm.url);
    await collect(
      streamChat(streamDeps({ "llm.max_tokens": 30000 }), p, { messages: HI }, never()),
    );
    assertEquals((lm.chatRequests()[0].body as { max_tokens: number }).max_tokens, 3276);
    await collect(streamChat(streamDeps({ "llm.max_tokens": 500 }), p, { messages: HI }, never()));
    assertEquals((lm.chatRequests()[1].body as { max_tokens: number }).max_tokens, 500);
    await collect(
      streamChat(streamDeps({ "llm.supports_max_tokens": false }), p, { messages: HI }, never()),
    );
    assert(!("max_tokens" in (lm.chatRequests()[2].body as object)));
  } finally {
    await lm.close();
  }
});

Deno.test("without a native model API max_tokens is capped by llm.local_context_window_size", async () => {
  const lm = await startFakeLmStudio({ nativeV1: false, nativeV0: false });
  try {
    await collect(
      streamChat(
        streamDeps({ "llm.local_context_window_size": 8192, "llm.model": "qwen2.5-7b-instruct" }),
        provider("lmstudio", lm.url),
        { messages: HI },
        never(),
      ),
    );
    assertEquals((lm.chatRequests()[0].body as { max_tokens: number }).max_tokens, 6553);
  } finally {
    await lm.close();
  }
});

Deno.test("top_k and repeat_penalty are sent only when set, temperature always", async () => {
  const lm = await startFakeLmStudio();
  try {
    const p = provider("lmstudio", lm.url);
    await collect(streamChat(streamDeps(), p, { messages: HI }, never()));
    const plain = lm.chatRequests()[0].body as Record<string, unknown>;
    assert(!("top_k" in plain) && !("repeat_penalty" in plain));
    assertEquals(plain.temperature, 0.7);
    await collect(
      streamChat(
        streamDeps({ "llm.top_k": 40, "llm.repetition_penalty": 1.1, "llm.temperature": 0.2 }),
        p,
        { messages: HI },
        never(),
      ),
    );
    const tuned = lm.chatRequests()[1].body as Record<string, unknown>;
    assertEquals([tuned.top_k, tuned.repeat_penalty, tuned.temperature], [40, 1.1, 0.2]);
  } finally {
    await lm.close();
  }
});

Deno.test("with llm.streaming off the non-stream answer yields the same events", async () => {
  const lm = await startFakeLmStudio({ reasoning: "hmm" });
  try {
    const events = await collect(
      streamChat(streamDeps({ "llm.streaming": false }), provider("lmstudio", lm.url), {
        messages: HI,
      }, never()),
    );
    assertEquals(text(events), "Hello from the fake LM Studio.");
    assert(events.some((e) => e.type === "reasoning"));
    const done = last(events);
    assert(done.type === "done" && done.metrics.usage?.completionTokens === 7);
    const body = lm.chatRequests()[0].body as Record<string, unknown>;
    assertEquals(body.stream, false);
    assert(!("stream_options" in body));
  } finally {
    await lm.close();
  }
});

Deno.test("waiting events keep callers informed while the model loads and the prompt is processed", async () => {
  const lm = await startFakeLmStudio({ headerDelayMs: 250, promptDelayMs: 250 });
  try {
    const events = await collect(
      streamChat(
        streamDeps({}, { waitingIntervalMs: 60 }),
        provider("lmstudio", lm.url),
        { messages: HI },
        never(),
      ),
    );
    const waits = events.filter((e) => e.type === "waiting") as Extract<
      StreamEvent,
      { type: "waiting" }
    >[];
    assert(waits.some((w) => w.phase === "connecting"), JSON.stringify(waits));
    assert(waits.some((w) => w.phase === "prompt"), JSON.stringify(waits));
    assertEquals(last(events).type, "done");
  } finally {
    await lm.close();
  }
});

async function abortIn(
  phase: string,
  options: Parameters<typeof startFakeLmStudio>[0],
  trigger: (ev: StreamEvent | null, lm: Awaited<ReturnType<typeof startFakeLmStudio>>) => boolean,
) {
  const lm = await startFakeLmStudio(options);
  try {
    const ac = new AbortController();
    const events: StreamEvent[] = [];
    let abortedAt = 0;
    const run = (async () => {
      for await (
        const ev of streamChat(
          streamDeps({}, { waitingIntervalMs: 30 }),
          provider("lmstudio", lm.url),
          { messages: HI },
          ac.signal,
        )
      ) {
        events.push(ev);
        if (!ac.signal.aborted && trigger(ev, lm)) {
          abortedAt = performance.now();
          ac.abort();
        }
      }
    })();
    const seen = await lm.waitForAbort((r) => r.path === "/v1/chat/completions", 5000);
    await run;
    const latency = seen.abortedAt! - abortedAt;
    console.log(`abort → upstream closed (${phase}): ${latency.toFixed(2)} ms`);
    assertEquals(errorOf(last(events)).kind, "cancelled");
    assert(latency < 2000, `the fake saw the disconnect ${latency} ms after the abort`);
    return { events, seen, lm };
  } finally {
    await lm.close();
  }
}

Deno.test("stopping while the model loads (before headers) aborts the upstream request", async () => {
  const { seen } = await abortIn(
    "before headers",
    { headerDelayMs: 10_000 },
    (ev, lm) => ev?.type === "waiting" && lm.chatRequests().length === 1,
  );
  assertEquals(seen.abortedPhase, "before-headers");
});

Deno.test("stopping during prompt processing (headers sent, no token yet) aborts the upstream", async () => {
  const { seen } = await abortIn(
    "prompt processing",
    { promptDelayMs: 10_000 },
    (ev) => ev?.type === "waiting" && ev.phase === "prompt",
  );
  assertEquals(seen.abortedPhase, "streaming");
});

Deno.test("stopping mid-stream aborts the upstream and keeps the text so far", async () => {
  const { events, seen } = await abortIn(
    "mid-stream",
    { tokenDelayMs: 200 },
    (ev) => ev?.type === "delta" && ev.text === " from",
  );
  assertEquals(seen.abortedPhase, "streaming");
  assertEquals(text(events), "Hello from");
});

Deno.test("an already-aborted signal sends nothing", async () => {
  const lm = await startFakeLmStudio();
  try {
    const ac = new AbortController();
    ac.abort();
    const events = await collect(
      streamChat(streamDeps(), provider("lmstudio", lm.url), { messages: HI }, ac.signal),
    );
    assertEquals(errorOf(last(events)).kind, "cancelled");
    assertEquals(lm.requests.length, 0);
  } finally {
    await lm.close();
  }
});

Deno.test("the idle timeout fires when the stream hangs, keeps the text, and closes the upstream", async () => {
  const lm = await startFakeLmStudio({ fault: { kind: "hang", afterTokens: 2 } });
  try {
    const t0 = performance.now();
    const events = await collect(
      streamChat(streamDeps({ "llm.request_timeout": 1 }), provider("lmstudio", lm.url), {
        messages: HI,
      }, never()),
    );
    const e = errorOf(last(events));
    assertEquals(e.kind, "timeout");
    assertStringIncludes(e.message, "sent nothing for 1 s");
    assertStringIncludes(e.message, `${lm.url}/v1/chat/completions`);
    assertEquals(text(events), "Hello from");
    const took = performance.now() - t0;
    assert(took >= 900 && took < 4000, `timed out after ${took} ms`);
    await lm.waitForAbort();
  } finally {
    await lm.close();
  }
});

Deno.test("the idle timeout counts the wait for the first token (model load before headers)", async () => {
  const lm = await startFakeLmStudio({ headerDelayMs: 10_000 });
  try {
    const events = await collect(
      streamChat(streamDeps({ "llm.request_timeout": 1 }), provider("lmstudio", lm.url), {
        messages: HI,
      }, never()),
    );
    assertEquals(errorOf(last(events)).kind, "timeout");
    const seen = await lm.waitForAbort();
    assertEquals(seen.abortedPhase, "before-headers");
  } finally {
    await lm.close();
  }
});

Deno.test("a slow but steady stream with gaps under the timeout is never cut", async () => {
  const lm = await startFakeLmStudio({
    tokenDelayMs: 400,
    reply: "one two three four five six",
  });
  try {
    const t0 = performance.now();
    const events = await collect(
      streamChat(streamDeps({ "llm.request_timeout": 1 }), provider("lmstudio", lm.url), {
        messages: HI,
      }, never()),
    );
    const took = performance.now() - t0;
    assertEquals(last(events).type, "done", JSON.stringify(last(events)));
    assertEquals(text(events), "one two three four five six");
    assert(took > 1500, `the stream lasted ${took} ms, longer than the 1 s timeout`);
  } finally {
    await lm.close();
  }
});

Deno.test("each fault of the fake LM Studio yields its typed error naming the URL", async () => {
  const lm = await startFakeLmStudio();
  const url = `${lm.url}/v1/chat/completions`;
  const run = async (model = "qwen2.5-7b-instruct", content = "hi", s = {}) =>
    await collect(
      streamChat(streamDeps({ "llm.model": model, ...s }), provider("lmstudio", lm.url), {
        messages: [{ role: "user", content }],
      }, never()),
    );
  try {
    const cases: [Parameters<typeof lm.set>[0], string, string?][] = [
      [{ fault: { kind: "rate-limit", retryAfter: 9 } }, "rate_limit"],
      [{ fault: { kind: "server-error" } }, "server_error"],
      [{ fault: { kind: "error-frame", afterTokens: 2 } }, "server_error", "Hello from"],
      [{ fault: { kind: "malformed-frame", afterTokens: 1 } }, "server_error", "Hello"],
      [{ fault: { kind: "reset", afterTokens: 2 } }, "connection", "Hello from"],
      [{
        fault: {
          kind: "context-overflow",
          text: "n-keep",
          promptTokens: 15028,
          contextLength: 7424,
        },
      }, "token_limit"],
      [{ fault: { kind: "context-overflow", text: "initial-prompt" } }, "token_limit"],
    ];
    for (const [opts, kind, kept] of cases) {
      lm.set({ fault: null, ...opts });
      const events = await run();
      const e = errorOf(last(events));
      assertEquals(e.kind, kind, JSON.stringify(opts));
      assertStringIncludes(e.message, url);
      assertStringIncludes(e.message, "LM Studio");
      assert(e.hint.length > 0);
      if (kept) assertEquals(text(events), kept, "text produced before the failure is kept");
      if (kind === "rate_limit") assertEquals(e.retryAfter, 9);
    }
    lm.set({ fault: null });
    // A real overflow: the prompt is larger than the loaded 4096-token context.
    const big = errorOf(last(await run("qwen2.5-7b-instruct", "x".repeat(20000))));
    assertEquals(big.kind, "token_limit");
    assertEquals(big.contextLength, 4096);
    assertStringIncludes(big.message, "vs loaded context 4096");
    // A truncated JSON body (non-stream).
    lm.set({ fault: { kind: "truncated-json" } });
    const cut = errorOf(last(await run(undefined, undefined, { "llm.streaming": false })));
    assertEquals(cut.kind, "server_error");
    assertStringIncludes(cut.message, "malformed");
  } finally {
    await lm.close();
  }
});

Deno.test("no model loaded yields model_not_found with LM Studio's text", async () => {
  const lm = await startFakeLmStudio({ jit: false, models: [] });
  try {
    const events = await collect(
      streamChat(streamDeps({ "llm.model": "qwen" }), provider("lmstudio", lm.url), {
        messages: HI,
      }, never()),
    );
    const e = errorOf(last(events));
    assertEquals(e.kind, "model_not_found");
    assertStringIncludes(e.message, "No models loaded");
    assertStringIncludes(e.hint, "lms load");
  } finally {
    await lm.close();
  }
});

Deno.test("LM Studio requiring a token yields an authentication error without leaking the key", async () => {
  const lm = await startFakeLmStudio({ apiToken: "sk-lm-right:token" });
  try {
    const events = await collect(
      streamChat(
        streamDeps({ "llm.model": "qwen2.5-7b-instruct" }),
        provider("lmstudio", lm.url, "sk-lm-wrong:secretpart"),
        { messages: HI },
        never(),
      ),
    );
    const e = errorOf(last(events));
    assertEquals(e.kind, "authentication");
    assert(!JSON.stringify(events).includes("secretpart"));
    const ok = await collect(
      streamChat(
        streamDeps(),
        provider("lmstudio", lm.url, "sk-lm-right:token"),
        { messages: HI },
        never(),
      ),
    );
    assertEquals(last(ok).type, "done");
    assertEquals(lm.chatRequests().at(-1)!.headers.authorization, "Bearer sk-lm-right:token");
  } finally {
    await lm.close();
  }
});

Deno.test("a base URL with a stray path yields LM Studio's 200 'Unexpected endpoint' as a typed error", async () => {
  const lm = await startFakeLmStudio();
  try {
    const events = await collect(
      streamChat(
        streamDeps({ "llm.model": "qwen2.5-7b-instruct" }),
        provider("lmstudio", `${lm.url}/api`),
        { messages: HI },
        never(),
      ),
    );
    const e = errorOf(last(events));
    assertEquals(e.kind, "bad_request");
    assertStringIncludes(e.message, `${lm.url}/api/v1/chat/completions`);
    assertStringIncludes(e.message, "Unexpected endpoint");
  } finally {
    await lm.close();
  }
});

Deno.test("a refused port yields a connection error naming the URL", async () => {
  const url = refusedUrl();
  const events = await collect(
    streamChat(
      streamDeps({ "llm.model": "m" }),
      provider("lmstudio", url),
      { messages: HI },
      never(),
    ),
  );
  const e = errorOf(last(events));
  assertEquals(e.kind, "connection");
  assertStringIncludes(e.message, url);
});

Deno.test("llama.cpp streams with usage, and its context errors become token_limit", async () => {
  const llama = await startFakeLlamaCpp();
  try {
    const p = provider("llamacpp", llama.url);
    const events = await collect(streamChat(streamDeps(), p, { messages: HI }, never()));
    assertEquals(text(events), " habe regnig Stream wooden Normdaten");
    const done = last(events);
    assert(done.type === "done");
    assertEquals(done.finishReason, "length");
    assertEquals(done.metrics.usage?.completionTokens, 5);
    // n_ctx 256 → max_tokens capped to 204; no key configured → no Authorization header.
    const sent = llama.requests.find((r) => r.path === "/v1/chat/completions")!;
    assertEquals((sent.body as { max_tokens: number }).max_tokens, 204);
    assertEquals((sent.body as { model: string }).model, "tiny-random");
    assertEquals(sent.headers.authorization, undefined);
    const over = errorOf(last(
      await collect(
        streamChat(
          streamDeps(),
          p,
          { messages: [{ role: "user", content: "hello ".repeat(300) }] },
          never(),
        ),
      ),
    ));
    assertEquals([over.kind, over.contextLength], ["token_limit", 256]);
    assertStringIncludes(over.message, "vs loaded context 256");
    llama.set({ fault: { kind: "context-exceeded-frame", afterTokens: 2 } });
    const mid = await collect(streamChat(streamDeps(), p, { messages: HI }, never()));
    assertEquals(errorOf(last(mid)).kind, "token_limit");
    assertEquals(text(mid), " habe regnig");
  } finally {
    await llama.close();
  }
});

Deno.test("llama.cpp with --api-key rejects a wrong key as an authentication error", async () => {
  const llama = await startFakeLlamaCpp({ apiKey: "sekret" });
  try {
    const bad = await collect(
      streamChat(streamDeps(), provider("llamacpp", llama.url, "wrong"), { messages: HI }, never()),
    );
    assertEquals(errorOf(last(bad)).kind, "authentication");
    const good = await collect(
      streamChat(
        streamDeps(),
        provider("llamacpp", llama.url, "sekret"),
        { messages: HI },
        never(),
      ),
    );
    assertEquals(last(good).type, "done");
  } finally {
    await llama.close();
  }
});
