/**
 * The one-click overflow fix end to end over HTTP: a step fails with `token_limit`, the run's
 * error carries the sized reload action, and `POST /api/research/{id}/resume` with `{reload}`
 * reloads the model in the fake LM Studio and continues at the failed step, keeping the text
 * already written. Also a model unloaded mid-run, and bad reload requests.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { harness } from "./support.ts";

const MODEL = "qwen2.5-7b-instruct";
const REPORT_STEP = "Write the final research report";

async function resume(url: string, id: string, body: unknown) {
  const res = await fetch(`${url}/api/research/${id}/resume`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

Deno.test("token_limit in the report step → reload action → resume with reload finishes the run, notes kept", async () => {
  const h = await harness({
    fake: {
      reply: "A finding about tides.",
      // The report prompt needs 12000 tokens: it overflows until the model has more context.
      fault: {
        kind: "context-overflow",
        matching: REPORT_STEP,
        promptTokens: 12000,
        untilContext: 12001,
      },
    },
  });
  try {
    const { json } = await h.post({ query: "Explain tides", mode: "detailed" });
    const id = json.id as string;
    const failed = await h.waitRun(id);
    assertEquals([failed.status, failed.error?.kind], ["failed", "token_limit"]);
    assertEquals(failed.error?.action, {
      type: "reload",
      model: MODEL,
      contextLength: 16384,
      label: `Reload ${MODEL} with 16k tokens of context and continue`,
    });
    assertStringIncludes(failed.error!.hint, "16384");
    assertStringIncludes(failed.text, "A finding about tides.");
    const before = h.lm.chatRequests().length;

    const res = await resume(h.url, id, { reload: { model: MODEL, contextLength: 16384 } });
    assertEquals(res.status, 202, JSON.stringify(res.json));
    const done = await h.waitRun(id, (r) => r.status === "completed" || r.status === "failed");
    assertEquals(done.status, "completed", done.text);
    assertEquals(h.lm.chatRequests().length, before + 1, "only the failed step ran again");
    assertEquals(done.settings.contextWindow, 16384);
    assertStringIncludes(done.text, "A finding about tides.");
    assertEquals(
      h.lm.options.models[0].loaded_instances.map((i) => i.config.context_length),
      [16384],
    );
    const paths = h.lm.requests.map((r) => r.path).filter((p) => p.includes("/models/"));
    assertEquals(paths, ["/api/v1/models/unload", "/api/v1/models/load"]);
  } finally {
    await h.close();
  }
});

Deno.test("a resume with a reload the model already has does not load again; a wrong model is refused", async () => {
  const h = await harness({
    fake: { fault: { kind: "context-overflow", promptTokens: 6000, untilContext: 6001 } },
  });
  try {
    const { json } = await h.post({ query: "Explain tides", mode: "quick" });
    const id = json.id as string;
    const failed = await h.waitRun(id);
    assertEquals(failed.error?.action?.type, "reload");
    const wrong = await resume(h.url, id, {
      reload: { model: "other-model", contextLength: 8192 },
    });
    assertEquals(wrong.status, 400);
    assertStringIncludes(wrong.json.error.message, MODEL);
    // Someone reloaded it with enough context already (the picker, another tab).
    const loaded = await fetch(`${h.url}/api/providers/lmstudio/models/load`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, contextLength: 8192 }),
    });
    await loaded.text();
    const loadsBefore = h.lm.requests.filter((r) => r.path === "/api/v1/models/load").length;
    const res = await resume(h.url, id, { reload: { model: MODEL, contextLength: 8192 } });
    assertEquals(res.status, 202, JSON.stringify(res.json));
    const done = await h.waitRun(id, (r) => r.status === "completed" || r.status === "failed");
    assertEquals(done.status, "completed", done.text);
    assertEquals(
      h.lm.requests.filter((r) => r.path === "/api/v1/models/load").length,
      loadsBefore,
      "no second load",
    );
  } finally {
    await h.close();
  }
});

Deno.test("a model unloaded by someone else mid-run: model_not_found with a Load action, text kept", async () => {
  const h = await harness({ fake: { reply: "one two three four five six", tokenDelayMs: 30 } });
  try {
    const { json } = await h.post({ query: "Explain tides", mode: "detailed" });
    const id = json.id as string;
    await h.waitRun(id, (_, text) => text.includes("one two"));
    // Unloaded in LM Studio (JIT off, so nothing reloads it on the next request).
    h.lm.set({ jit: false });
    h.lm.options.models[0].loaded_instances = [];
    const failed = await h.waitRun(id);
    assertEquals([failed.status, failed.error?.kind], ["failed", "model_not_found"]);
    assertEquals(failed.error?.action?.type, "load");
    assertEquals(failed.error?.action?.model, MODEL);
    assertStringIncludes(failed.text, "one two");
  } finally {
    await h.close();
  }
});

Deno.test("on a server deepstudio cannot load on, a reload resume is refused with the by-hand hint", async () => {
  const h = await harness({
    fake: { nativeV1: false, fault: { kind: "context-overflow", promptTokens: 6000 } },
  });
  try {
    const { json } = await h.post({ query: "Explain tides", mode: "quick" });
    const failed = await h.waitRun(json.id as string);
    assertEquals(failed.error?.kind, "token_limit");
    assertEquals(failed.error?.action, undefined, "LM Studio 0.3: no one-click action");
    assertStringIncludes(failed.error!.hint, "8192");
    const res = await resume(h.url, json.id as string, {
      reload: { model: MODEL, contextLength: 8192 },
    });
    assertEquals(res.status, 400);
    assertStringIncludes(res.json.error.message, "Context Length 8192");
    assert(!h.lm.requests.some((r) => r.path === "/api/v1/models/load"));
  } finally {
    await h.close();
  }
});
