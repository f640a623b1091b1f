import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ProviderError } from "../../lib/providers/errors.ts";
import {
  capMaxTokens,
  chatModels,
  effectiveContextWindow,
  listModels,
} from "../../lib/providers/models.ts";
import { createModelStore } from "../../lib/providers/model_store.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startFakeLlamaCpp } from "../fakes/llamacpp.ts";
import { httpDeps, provider, refusedUrl, settingsWith } from "./support.ts";

Deno.test("LM Studio 0.4 models come from /api/v1/models with loaded state and loaded context", async () => {
  const lm = await startFakeLmStudio();
  try {
    const { models, source } = await listModels(httpDeps(), provider("lmstudio", lm.url));
    assertEquals(source, "lmstudio-v1");
    assertEquals(models.map((m) => m.id), [
      "qwen2.5-7b-instruct",
      "google/gemma-4-26b-a4b",
      "text-embedding-nomic-embed-text-v1.5-embedding",
    ]);
    assertEquals(models[0], {
      id: "qwen2.5-7b-instruct",
      displayName: "Qwen2.5 7B Instruct",
      type: "llm",
      state: "loaded",
      loadedContextLength: 4096,
      maxContextLength: 32768,
      quantization: "Q4_K_M",
      arch: "qwen2",
      instances: [{ id: "qwen2.5-7b-instruct", contextLength: 4096 }],
      capabilities: { tools: true, vision: false, reasoning: false },
    });
    // vision is a capability in v1, so the model is a vlm; reasoning is recognised.
    assertEquals([models[1].type, models[1].state, models[1].loadedContextLength], [
      "vlm",
      "not-loaded",
      null,
    ]);
    assertEquals(models[1].capabilities, { tools: true, vision: true, reasoning: true });
    assertEquals(models[2].type, "embedding");
  } finally {
    await lm.close();
  }
});

Deno.test("older LM Studio (no /api/v1) falls back to /api/v0/models and maps 'embeddings' plural", async () => {
  const lm = await startFakeLmStudio({ nativeV1: false });
  try {
    const { models, source } = await listModels(httpDeps(), provider("lmstudio", lm.url));
    assertEquals(source, "lmstudio-v0");
    assertEquals(models[0].state, "loaded");
    assertEquals(models[0].loadedContextLength, 4096);
    assertEquals(models[0].capabilities.tools, true);
    assertEquals(models[1].type, "vlm");
    assertEquals(models[2].type, "embedding");
    assertEquals(lm.requests.map((r) => r.path), ["/api/v1/models", "/api/v0/models"]);
  } finally {
    await lm.close();
  }
});

Deno.test("LM Studio before 0.3.6 (no native API) falls back to /v1/models with unknown state", async () => {
  const lm = await startFakeLmStudio({ nativeV1: false, nativeV0: false });
  try {
    const { models, source } = await listModels(httpDeps(), provider("lmstudio", lm.url));
    assertEquals(source, "openai");
    assertEquals(models.length, 3);
    assertEquals(models[0].state, "unknown");
    assertEquals(models[0].loadedContextLength, null);
    assertEquals(models[2].type, "embedding", "embedding recognised from the id");
  } finally {
    await lm.close();
  }
});

Deno.test("the v0 'loading' state is kept", async () => {
  const lm = await startFakeLmStudio({ nativeV1: false });
  lm.options.models[1].loading = true;
  try {
    const { models } = await listModels(httpDeps(), provider("lmstudio", lm.url));
    assertEquals(models[1].state, "loading");
  } finally {
    await lm.close();
  }
});

Deno.test("chat model lists exclude embedding models", async () => {
  const lm = await startFakeLmStudio();
  try {
    const { models } = await listModels(httpDeps(), provider("lmstudio", lm.url));
    const chat = chatModels(models);
    assertEquals(chat.length, 2);
    assert(chat.every((m) => m.type !== "embedding"));
  } finally {
    await lm.close();
  }
});

Deno.test("llama.cpp models come from /v1/models with meta.n_ctx as the loaded context", async () => {
  const llama = await startFakeLlamaCpp({ nCtx: 2048 });
  try {
    const { models, source } = await listModels(httpDeps(), provider("llamacpp", llama.url));
    assertEquals(source, "llamacpp");
    assertEquals(models.length, 1);
    assertEquals(models[0].id, "tiny-random");
    assertEquals(models[0].state, "loaded");
    assertEquals(models[0].loadedContextLength, 2048);
    assertEquals(models[0].maxContextLength, 4096);
  } finally {
    await llama.close();
  }
});

Deno.test("LM Studio's 401 on the model list is an authentication error naming the URL", async () => {
  const lm = await startFakeLmStudio({ apiToken: "tok-abcdef" });
  try {
    const err = await assertRejects(() => listModels(httpDeps(), provider("lmstudio", lm.url)));
    assert(err instanceof ProviderError);
    assertEquals(err.error.kind, "authentication");
    assertEquals(err.error.url, `${lm.url}/api/v1/models`);
  } finally {
    await lm.close();
  }
});

Deno.test("a dead server makes listing fail fast with a connection error", async () => {
  const url = refusedUrl();
  const err = await assertRejects(() => listModels(httpDeps(), provider("lmstudio", url)));
  assert(err instanceof ProviderError);
  assertEquals(err.error.kind, "connection");
});

Deno.test("model lists are cached briefly per URL and key, and concurrent callers share one fetch", async () => {
  const lm = await startFakeLmStudio({ modelsDelayMs: 30 });
  try {
    const deps = { ...httpDeps(), models: createModelStore(httpDeps(), { ttlMs: 10_000 }) };
    const p = provider("lmstudio", lm.url);
    await Promise.all([listModels(deps, p), listModels(deps, p), listModels(deps, p)]);
    await listModels(deps, p);
    assertEquals(lm.requests.length, 1);
    await listModels(deps, provider("lmstudio", lm.url, "other-key"));
    assertEquals(lm.requests.length, 2, "another key is another cache entry");
    await listModels(deps, p, { fresh: true });
    assertEquals(lm.requests.length, 3);
    assert(deps.models.known(p), "the last list is known without waiting");
    deps.models.invalidate(p.baseUrl);
    assertEquals(deps.models.known(p), null, "invalidation forgets the last list too");
    await listModels(deps, p);
    assertEquals(lm.requests.length, 4, "after invalidation the next caller asks the server");
    deps.models.invalidate("http://elsewhere:1");
    await listModels(deps, p);
    assertEquals(lm.requests.length, 4, "another server's invalidation keeps this list");
  } finally {
    await lm.close();
  }
});

Deno.test("effective context: loaded context, else the local setting; cloud per settings", () => {
  const s = settingsWith({ "llm.local_context_window_size": 8192 });
  const lm = provider("lmstudio", "http://localhost:1234");
  const model = {
    id: "m",
    displayName: "m",
    type: "llm" as const,
    state: "loaded" as const,
    loadedContextLength: 4096,
    maxContextLength: 32768,
    quantization: null,
    arch: null,
    capabilities: { tools: false, vision: false, reasoning: false },
  };
  assertEquals(effectiveContextWindow(s, lm, model), 4096);
  assertEquals(effectiveContextWindow(s, lm, { ...model, loadedContextLength: null }), 8192);
  assertEquals(effectiveContextWindow(s, lm, null), 8192);
  const cloud = provider("openai", "");
  assertEquals(effectiveContextWindow(s, cloud, null), null);
  assertEquals(
    effectiveContextWindow(
      settingsWith({ "llm.context_window_unrestricted": false, "llm.context_window_size": 10000 }),
      cloud,
      null,
    ),
    10000,
  );
  assertEquals(capMaxTokens(30000, 4096), 3276);
  assertEquals(capMaxTokens(100, 4096), 100);
  assertEquals(capMaxTokens(30000, null), 30000);
});
