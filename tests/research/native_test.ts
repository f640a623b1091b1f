/**
 * Research runs on LM Studio 0.4+ through the native chat stream (docs/lmstudio_native_api.md):
 * loading and prompt progress reach the run's events, the missing route falls back to /v1, and
 * cancel, idle timeout and partial text behave as on /v1. Also the /v1 path's JIT "loading".
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { DEFAULT_MODELS, type FakeModel } from "../fakes/lmstudio.ts";
import { harness, readSse, words } from "./support.ts";

const NATIVE = { LDR_LLM_LMSTUDIO_NATIVE_CHAT: "true" };
const GEMMA = "google/gemma-4-26b-a4b";

/** The default models with nothing loaded (every chat request then loads first). */
function nothingLoaded(): FakeModel[] {
  return structuredClone(DEFAULT_MODELS).map((m) => ({ ...m, loaded_instances: [] }));
}

const progressMessages = (events: { event: string; data: Record<string, unknown> }[]) =>
  events.filter((e) => e.event === "progress").map((e) => String(e.data.message));

Deno.test("a run on LM Studio 0.4 shows 'loading <model> N %' and 'reading the prompt N %', then the answer", async () => {
  const h = await harness({
    env: NATIVE,
    fake: {
      reply: words(12),
      jitLoadMs: 600,
      loadProgressSteps: 3,
      promptDelayMs: 200,
      promptProgressSteps: 2,
    },
  });
  try {
    const { json } = await h.post({ query: "What is new?", mode: "quick", model: GEMMA });
    const { events } = await readSse(`${h.url}/api/research/${json.id}/events`);
    const messages = progressMessages(events);
    for (const pct of [0, 25, 50, 75, 100]) {
      assert(
        messages.some((m) => m.startsWith(`Loading ${GEMMA} in LM Studio… ${pct} %`)),
        `loading ${pct} %: ${messages.join(" | ")}`,
      );
    }
    assert(messages.some((m) => m.includes("is reading the prompt… 33 %")), messages.join(" | "));
    const loading = events.find((e) => e.event === "progress" && e.data.wait === "loading")!;
    assertEquals(typeof loading.data.waitPercent, "number");
    const run = await h.waitRun(json.id as string);
    assertEquals(run.status, "completed");
    assertEquals(run.text, words(12));
    assertEquals(h.lm.requests.filter((r) => r.path === "/api/v1/chat").length, 1);
    assertEquals(h.lm.chatRequests().length, 0, "nothing went to /v1");
    const sent = h.lm.requests.find((r) => r.path === "/api/v1/chat")!.body as Record<
      string,
      unknown
    >;
    assertEquals([sent.model, sent.stream, sent.store], [GEMMA, true, false]);
  } finally {
    await h.close();
  }
});

Deno.test("a missing native route (404, or 200-with-error) falls back to /v1, and is remembered", async () => {
  for (const nativeChat of ["404" as const, false]) {
    const h = await harness({ env: NATIVE, fake: { nativeChat, reply: "fallback answer" } });
    try {
      const first = await h.post({ query: "One", mode: "quick" });
      const run = await h.waitRun(first.json.id as string);
      assertEquals([run.status, run.text], ["completed", "fallback answer"]);
      const second = await h.post({ query: "Two", mode: "quick" });
      assertEquals((await h.waitRun(second.json.id as string)).status, "completed");
      assertEquals(h.lm.requests.filter((r) => r.path === "/api/v1/chat").length, 1, "asked once");
      assertEquals(h.lm.chatRequests().length, 2);
    } finally {
      await h.close();
    }
  }
});

Deno.test("cancel during a native-chat model load aborts LM Studio's request at once", async () => {
  const h = await harness({ env: NATIVE, fake: { jitLoadMs: 20_000, loadProgressSteps: 40 } });
  try {
    const { json } = await h.post({ query: "Slow load", mode: "quick", model: GEMMA });
    const id = json.id as string;
    await readSse(`${h.url}/api/research/${id}/events`, {
      until: (ev) => progressMessages(ev).some((m) => m.startsWith(`Loading ${GEMMA}`)),
    });
    const res = await fetch(`${h.url}/api/research/${id}/cancel`, { method: "POST" });
    assertEquals((await res.json()).status, "cancelled");
    const aborted = await h.lm.waitForAbort((r) => r.path === "/api/v1/chat");
    assertEquals(aborted.abortedPhase, "streaming");
    assertEquals((await h.waitRun(id)).status, "cancelled");
  } finally {
    await h.close();
  }
});

Deno.test("on the native path an upstream hang hits the idle timeout, the partial text kept", async () => {
  const h = await harness({
    env: { ...NATIVE, LDR_LLM_REQUEST_TIMEOUT: "1" },
    fake: { reply: words(30), fault: { kind: "hang", afterTokens: 4 } },
  });
  try {
    const { json } = await h.post({ query: "Hang", mode: "quick" });
    const run = await h.waitRun(json.id as string);
    assertEquals([run.status, run.error?.kind], ["failed", "timeout"]);
    assert(run.text.startsWith("w0 w1 w2 w3"), run.text);
    assertStringIncludes(run.text, "LLM Timeout Error");
  } finally {
    await h.close();
  }
});

Deno.test("a model load longer than the idle timeout does not fail the run on the native path", async () => {
  // 1.2 s silences on both sides of the one progress report, against a 1 s idle timeout.
  const h = await harness({
    env: { ...NATIVE, LDR_LLM_REQUEST_TIMEOUT: "1" },
    fake: { jitLoadMs: 2400, loadProgressSteps: 1, reply: "loaded fine" },
  });
  try {
    const { json } = await h.post({ query: "Load slowly", mode: "quick", model: GEMMA });
    const run = await h.waitRun(json.id as string);
    assertEquals([run.status, run.text], ["completed", "loaded fine"]);
  } finally {
    await h.close();
  }
});

Deno.test("on /v1 a JIT load of a listed, unloaded model says 'Loading <model>' instead of a bare wait", async () => {
  const h = await harness({ fake: { models: nothingLoaded(), jitLoadMs: 2600, reply: "hi" } });
  try {
    const { json } = await h.post({ query: "JIT please", mode: "quick", model: GEMMA });
    const { events } = await readSse(`${h.url}/api/research/${json.id}/events`);
    const messages = progressMessages(events);
    assert(
      messages.some((m) => m.startsWith(`Loading ${GEMMA} in LM Studio…`)),
      messages.join(" | "),
    );
    assertEquals((await h.waitRun(json.id as string)).status, "completed");
    assertEquals(h.lm.chatRequests().length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("on /v1 a JIT load longer than the idle timeout does not fail the run either", async () => {
  const h = await harness({
    env: { LDR_LLM_REQUEST_TIMEOUT: "1" },
    fake: { models: nothingLoaded(), jitLoadMs: 2500, reply: "loaded on /v1" },
  });
  try {
    const { json } = await h.post({ query: "JIT slowly", mode: "quick", model: GEMMA });
    const run = await h.waitRun(json.id as string);
    assertEquals([run.status, run.text], ["completed", "loaded on /v1"]);
    assertEquals(h.lm.chatRequests().filter((r) => r.aborted).length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("on /v1 the idle timeout still applies to a loaded model's silence", async () => {
  const h = await harness({
    env: { LDR_LLM_REQUEST_TIMEOUT: "1" },
    fake: { headerDelayMs: 2500, reply: "too late" },
  });
  try {
    const { json } = await h.post({ query: "Silent", mode: "quick" });
    const run = await h.waitRun(json.id as string);
    assertEquals([run.status, run.error?.kind], ["failed", "timeout"]);
  } finally {
    await h.close();
  }
});
