/**
 * Pre-flight (`POST /api/research/preflight`), the sized reload action for a step that
 * overflowed, and the up-front refusal of unloaded models when LM Studio's JIT loading is off.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { DEFAULT_MODELS, loadedModel, startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startFakeLlamaCpp } from "../fakes/llamacpp.ts";
import { json, testApp } from "../helpers.ts";
import { createContext } from "../../app.ts";
import { withReloadAction } from "../../lib/research/context_fix.ts";
import { providerServiceFor } from "../../lib/providers/service.ts";
import type { UpstreamError } from "../../lib/providers/types.ts";
import { harness } from "./support.ts";

const QUESTION = "How do heat pumps work in cold climates?";

async function check(h: { url: string }, body: Record<string, unknown>) {
  const res = await fetch(`${h.url}/api/research/preflight`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: QUESTION, ...body }),
  });
  return { status: res.status, json: await res.json() };
}

Deno.test("pre-flight: a quick question fits 4096; a detailed run does not and gets a reload to 8k", async () => {
  const h = await harness();
  try {
    const quick = await check(h, { mode: "quick" });
    assertEquals(quick.status, 200);
    assertEquals([quick.json.fits, quick.json.contextWindow, quick.json.model], [
      true,
      4096,
      "qwen2.5-7b-instruct",
    ]);
    assertEquals(quick.json.action, undefined);
    const detailed = await check(h, { mode: "detailed" });
    assertEquals(detailed.json.fits, false);
    assert(detailed.json.needed > 4096, String(detailed.json.needed));
    assertEquals(detailed.json.action, {
      type: "reload",
      model: "qwen2.5-7b-instruct",
      contextLength: 8192,
      label: "Reload qwen2.5-7b-instruct with 8k tokens of context and continue",
    });
    assertStringIncludes(detailed.json.message, "Load it with 8192 first");
    // Nothing was started or sent to the model.
    assertEquals(h.lm.chatRequests().length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("pre-flight counts planned sources: a sourced quick run needs more than 4096", async () => {
  const h = await harness({ env: { LDR_SEARCH_ENGINE: "searxng", LDR_SEARCH_MAX_SOURCES: "20" } });
  try {
    const r = await check(h, { mode: "quick" });
    assertEquals(r.json.fits, false);
    assert(r.json.needed > 4096);
    assertEquals(r.json.action.type, "reload");
    assert(r.json.action.contextLength >= 8192);
  } finally {
    await h.close();
  }
});

Deno.test("pre-flight: when even the model's maximum is too small it offers a shorter run", async () => {
  const h = await harness({ fake: { models: [loadedModel("tiny-model", 2048, 2048)] } });
  try {
    const r = await check(h, { mode: "detailed" });
    assertEquals(r.json.fits, false);
    assertEquals(r.json.action.type, "shorten");
    assertEquals(r.json.action.maxContextLength, 2048);
    assertStringIncludes(r.json.message, "run a quick research");
  } finally {
    await h.close();
  }
});

Deno.test("pre-flight on servers deepstudio cannot load on: no action, the exact change as text", async () => {
  const llama = await startFakeLlamaCpp({ nCtx: 4096, nCtxTrain: 32768 });
  const t = await testApp({
    env: { LDR_LLM_PROVIDER: "llamacpp", LDR_LLM_LLAMACPP_URL: llama.url },
  });
  try {
    const res = await t.app.request(
      "/api/research/preflight",
      json("POST", { query: QUESTION, mode: "detailed" }),
    );
    const body = await res.json();
    assertEquals(res.status, 200, JSON.stringify(body));
    assertEquals([body.fits, body.contextWindow, body.action], [false, 4096, undefined]);
    assertStringIncludes(body.hint, "llama-server -m <model.gguf> -c 8192");
  } finally {
    t.close();
    await llama.close();
  }
  // LM Studio 0.3.x: no loading API, so the hint says how to do it in the app.
  const h = await harness({ fake: { nativeV1: false } });
  try {
    const r = await check(h, { mode: "detailed" });
    assertEquals([r.json.fits, r.json.action], [false, undefined]);
    assertStringIncludes(r.json.hint, "Context Length 8192");
  } finally {
    await h.close();
  }
});

Deno.test("JIT off: a run on an unloaded model is refused up front with 'load it first' and the Load action", async () => {
  const h = await harness({ fake: { jit: false } });
  try {
    const res = await h.post({ query: QUESTION, model: "google/gemma-4-26b-a4b" });
    assertEquals(res.status, 400);
    const error = res.json.error as Record<string, unknown>;
    assertStringIncludes(String(error.message), "just-in-time loading is off: load it first");
    assertEquals(error.action, {
      type: "load",
      model: "google/gemma-4-26b-a4b",
      contextLength: 32768,
      label: "Load google/gemma-4-26b-a4b with 32k tokens of context",
    });
    assertEquals(h.lm.chatRequests().length, 0);
    const pre = await check(h, { model: "google/gemma-4-26b-a4b" });
    assertEquals([pre.status, pre.json.fits, pre.json.action.type], [200, false, "load"]);
    // The loaded model still runs; and with JIT on the unloaded one is accepted.
    assertEquals((await h.post({ query: QUESTION })).status, 202);
    h.lm.set({ jit: true });
    assertEquals((await h.post({ query: QUESTION, model: "google/gemma-4-26b-a4b" })).status, 202);
  } finally {
    await h.close();
  }
});

Deno.test("a token_limit error gets the smallest standard size that fits prompt + answer, capped at the maximum", async () => {
  const lm = await startFakeLmStudio({
    models: [loadedModel("qwen2.5-7b-instruct", 4096, 32768), structuredClone(DEFAULT_MODELS[2])],
  });
  const kv = await Deno.openKv(":memory:");
  try {
    const ctx = createContext({ kv, env: { LDR_LLM_LMSTUDIO_URL: lm.url } });
    const providers = providerServiceFor(ctx);
    const base: UpstreamError = {
      kind: "token_limit",
      title: "Token Limit Exceeded",
      message: "m",
      hint: "h",
      provider: "lmstudio",
      url: lm.url,
      promptTokens: 12000,
      contextLength: 4096,
    };
    const fixed = await withReloadAction(providers, base, "qwen2.5-7b-instruct", 30000);
    assertEquals(fixed.action, {
      type: "reload",
      model: "qwen2.5-7b-instruct",
      contextLength: 16384,
      label: "Reload qwen2.5-7b-instruct with 16k tokens of context and continue",
    });
    assertStringIncludes(fixed.hint, "16384");
    const tooBig = await withReloadAction(
      providers,
      { ...base, promptTokens: 40000 },
      "qwen2.5-7b-instruct",
      30000,
    );
    assertEquals(tooBig.action?.type, "shorten");
    assertStringIncludes(tooBig.hint, "maximum of 32768");
    const other = await withReloadAction(
      providers,
      { ...base, kind: "timeout" },
      "qwen2.5-7b-instruct",
      30000,
    );
    assertEquals(other.action, undefined);
  } finally {
    kv.close();
    await lm.close();
  }
});
