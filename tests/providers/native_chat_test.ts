/**
 * LM Studio's native chat stream (lib/providers/lmstudio_chat.ts) against the fake's
 * `/api/v1/chat` (docs/lmstudio_native_api.md): text, stats, load and prompt progress, the
 * missing-route fallback signal, abort in every phase and the idle timeout around long loads.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import {
  nativeBody,
  type NativeChatBody,
  type NativeChatDeps,
  streamNativeChat,
} from "../../lib/providers/lmstudio_chat.ts";
import type { StreamEvent } from "../../lib/providers/types.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { last, provider, text } from "./support.ts";

const never = () => new AbortController().signal;

function deps(extra: Partial<NativeChatDeps> = {}): NativeChatDeps {
  return {
    fetch: globalThis.fetch.bind(globalThis),
    now: () => performance.now(),
    inContainer: false,
    timeoutSeconds: 30,
    ...extra,
  };
}

function body(model: string, input = "hi"): NativeChatBody {
  return { model, input, system_prompt: "Be brief.", stream: true, store: false, temperature: 0.7 };
}

async function run(gen: AsyncGenerator<StreamEvent, "missing" | "done">) {
  const events: StreamEvent[] = [];
  for (;;) {
    const n = await gen.next();
    if (n.done) return { events, outcome: n.value };
    events.push(n.value);
  }
}

Deno.test("native chat streams text and takes usage, tokens/s and TTFT from the server's stats", async () => {
  const lm = await startFakeLmStudio({ tokenDelayMs: 5 });
  try {
    const { events, outcome } = await run(
      streamNativeChat(deps(), provider("lmstudio", lm.url), body("qwen2.5-7b-instruct"), never()),
    );
    assertEquals(outcome, "done");
    assertEquals(text(events), "Hello from the fake LM Studio.");
    const done = last(events);
    assert(done.type === "done", JSON.stringify(done));
    assertEquals(done.metrics.api, "native");
    assertEquals(done.metrics.model, "qwen2.5-7b-instruct");
    assertEquals(done.metrics.usage?.completionTokens, 6);
    assert((done.metrics.usage?.promptTokens ?? 0) > 0);
    assert((done.metrics.tokensPerSecond ?? 0) > 0);
    assertEquals(done.metrics.loadTimeMs, null, "no load happened");
    const sent = lm.requests.find((r) => r.path === "/api/v1/chat")!;
    assertEquals(sent.body, body("qwen2.5-7b-instruct"));
    assertEquals(sent.headers.authorization, "Bearer not-required");
    // The prompt phase is reported before the first token.
    const firstDelta = events.findIndex((e) => e.type === "delta");
    assert(events.slice(0, firstDelta).some((e) => e.type === "waiting" && e.phase === "prompt"));
  } finally {
    await lm.close();
  }
});

Deno.test("a JIT load reports loading progress from 0 to 1, then the prompt phase, and the load time", async () => {
  const lm = await startFakeLmStudio({ jitLoadMs: 200, loadProgressSteps: 4, promptDelayMs: 60 });
  try {
    const { events } = await run(
      streamNativeChat(
        deps(),
        provider("lmstudio", lm.url),
        body("google/gemma-4-26b-a4b"),
        never(),
      ),
    );
    const loading = events.filter((e) => e.type === "waiting" && e.phase === "loading") as {
      progress?: number;
      model?: string;
    }[];
    const progress = loading.map((e) => e.progress);
    assertEquals(progress, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assertEquals(loading[0].model, "google/gemma-4-26b-a4b");
    const prompt = events.filter((e) => e.type === "waiting" && e.phase === "prompt");
    assert(prompt.length >= 2, "prompt_processing start and progress");
    const done = last(events);
    assert(done.type === "done");
    assert((done.metrics.loadTimeMs ?? 0) >= 150, `load time ${done.metrics.loadTimeMs}`);
    assertEquals(lm.options.models[1].loaded_instances.length, 1, "the fake now has it loaded");
  } finally {
    await lm.close();
  }
});

Deno.test("a silent load still heartbeats, and a load longer than the idle timeout does not trip it", async () => {
  // One progress report in the middle: 700 ms of silence on each side, against a 0.3 s timeout.
  const lm = await startFakeLmStudio({ jitLoadMs: 1400, loadProgressSteps: 1 });
  try {
    const { events } = await run(streamNativeChat(
      deps({ timeoutSeconds: 0.3, waitingIntervalMs: 100 }),
      provider("lmstudio", lm.url),
      body("google/gemma-4-26b-a4b"),
      never(),
    ));
    const done = last(events);
    assert(done.type === "done", JSON.stringify(done));
    const beats = events.filter((e) => e.type === "waiting" && e.phase === "loading");
    assert(beats.length >= 8, `heartbeats during the load: ${beats.length}`);
    assertEquals(text(events), "Hello from the fake LM Studio.");
  } finally {
    await lm.close();
  }
});

Deno.test("silence after the load counts against the idle timeout again, text so far kept", async () => {
  const lm = await startFakeLmStudio({ fault: { kind: "hang", afterTokens: 2 } });
  try {
    const { events } = await run(streamNativeChat(
      deps({ timeoutSeconds: 0.3 }),
      provider("lmstudio", lm.url),
      body("qwen2.5-7b-instruct"),
      never(),
    ));
    const end = last(events);
    assert(end.type === "error");
    assertEquals(end.error.kind, "timeout");
    assertEquals(text(events), "Hello from");
    await lm.waitForAbort((r) => r.path === "/api/v1/chat");
  } finally {
    await lm.close();
  }
});

Deno.test("abort during a native-chat model load stops at once and the server sees the disconnect", async () => {
  const lm = await startFakeLmStudio({ jitLoadMs: 10_000, loadProgressSteps: 20 });
  try {
    const stop = new AbortController();
    const events: StreamEvent[] = [];
    for await (
      const ev of streamNativeChat(
        deps(),
        provider("lmstudio", lm.url),
        body("google/gemma-4-26b-a4b"),
        stop.signal,
      )
    ) {
      events.push(ev);
      if (ev.type === "waiting" && ev.phase === "loading" && (ev.progress ?? 0) > 0) stop.abort();
    }
    const end = last(events);
    assert(end.type === "error");
    assertEquals(end.error.kind, "cancelled");
    const aborted = await lm.waitForAbort((r) => r.path === "/api/v1/chat");
    assertEquals(aborted.abortedPhase, "streaming");
  } finally {
    await lm.close();
  }
});

Deno.test("abort before the headers and abort mid-text both end cancelled", async () => {
  const lm = await startFakeLmStudio({ headerDelayMs: 5000 });
  try {
    const stop = new AbortController();
    // Abort once the fake holds the request (its headers delayed), not after a fixed wait: on a
    // loaded machine a timer can fire before the request is sent, and the fake then never sees
    // the abort this test waits for.
    lm.waitForRequest((r) => r.path === "/api/v1/chat").then(() => stop.abort());
    const early = await run(
      streamNativeChat(
        deps(),
        provider("lmstudio", lm.url),
        body("qwen2.5-7b-instruct"),
        stop.signal,
      ),
    );
    assertEquals((last(early.events) as { error: { kind: string } }).error.kind, "cancelled");
    await lm.waitForAbort((r) => r.path === "/api/v1/chat");
    lm.set({ headerDelayMs: 0, tokenDelayMs: 200 });
    const mid = new AbortController();
    const events: StreamEvent[] = [];
    for await (
      const ev of streamNativeChat(
        deps(),
        provider("lmstudio", lm.url),
        body("qwen2.5-7b-instruct"),
        mid.signal,
      )
    ) {
      events.push(ev);
      if (ev.type === "delta") mid.abort();
    }
    assertEquals((last(events) as { error: { kind: string } }).error.kind, "cancelled");
    assertEquals(text(events), "Hello");
  } finally {
    await lm.close();
  }
});

Deno.test("a missing native route is reported as missing, never as an error: 200-with-error, 404, 0.3.x", async () => {
  for (const opts of [{ nativeChat: false }, { nativeChat: "404" as const }, { nativeV1: false }]) {
    const lm = await startFakeLmStudio(opts);
    try {
      const { events, outcome } = await run(
        streamNativeChat(
          deps(),
          provider("lmstudio", lm.url),
          body("qwen2.5-7b-instruct"),
          never(),
        ),
      );
      assertEquals(outcome, "missing", JSON.stringify(opts));
      assert(events.every((e) => e.type === "waiting"), JSON.stringify(events));
    } finally {
      await lm.close();
    }
  }
});

Deno.test("typed errors: overflow → token_limit with numbers, error event mid-stream keeps text, auth", async () => {
  const lm = await startFakeLmStudio();
  try {
    const big = "word ".repeat(5000);
    const overflow = await run(
      streamNativeChat(
        deps(),
        provider("lmstudio", lm.url),
        body("qwen2.5-7b-instruct", big),
        never(),
      ),
    );
    const e1 = last(overflow.events);
    assert(e1.type === "error");
    assertEquals(e1.error.kind, "token_limit");
    assertEquals(e1.error.contextLength, 4096);
    assert((e1.error.promptTokens ?? 0) > 4096);

    lm.set({ fault: { kind: "error-frame", afterTokens: 3, message: "GPU fell over" } });
    const mid = await run(
      streamNativeChat(deps(), provider("lmstudio", lm.url), body("qwen2.5-7b-instruct"), never()),
    );
    const e2 = last(mid.events);
    assert(e2.type === "error");
    assertStringIncludes(e2.error.message, "GPU fell over");
    assertEquals(text(mid.events), "Hello from the");

    lm.set({ fault: null, apiToken: "sk-lm-abc:def" });
    const denied = await run(
      streamNativeChat(deps(), provider("lmstudio", lm.url), body("qwen2.5-7b-instruct"), never()),
    );
    const e3 = last(denied.events);
    assert(e3.type === "error");
    assertEquals(e3.error.kind, "authentication");
    const ok = await run(streamNativeChat(
      deps(),
      provider("lmstudio", lm.url, "sk-lm-abc:def"),
      body("qwen2.5-7b-instruct"),
      never(),
    ));
    assertEquals(last(ok.events).type, "done");
  } finally {
    await lm.close();
  }
});

Deno.test("a stream cut before chat.end is a connection error, not a finished answer", async () => {
  const lm = await startFakeLmStudio({ fault: { kind: "reset", afterTokens: 2 } });
  try {
    const { events } = await run(
      streamNativeChat(deps(), provider("lmstudio", lm.url), body("qwen2.5-7b-instruct"), never()),
    );
    const end = last(events);
    assert(end.type === "error");
    assertEquals(end.error.kind, "connection");
    assertEquals(text(events), "Hello from");
  } finally {
    await lm.close();
  }
});

Deno.test("nativeBody: system + user turns map natively; assistant turns stay on /v1", () => {
  const base = { model: "m", temperature: 0.5, stream: true, max_tokens: 300, top_k: 40 };
  assertEquals(
    nativeBody({
      ...base,
      messages: [{ role: "system", content: "S" }, { role: "user", content: "U" }],
    }),
    {
      model: "m",
      input: "U",
      system_prompt: "S",
      stream: true,
      store: false,
      temperature: 0.5,
      max_output_tokens: 300,
      top_k: 40,
    },
  );
  assertEquals(
    nativeBody({
      ...base,
      messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }],
    }),
    null,
  );
});
