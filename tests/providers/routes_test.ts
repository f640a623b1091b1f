import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json, testApp } from "../helpers.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startFakeLlamaCpp } from "../fakes/llamacpp.ts";
import { blackHole, refusedUrl } from "./support.ts";

Deno.test("GET /api/providers lists every provider with URL and key presence, never the key", async () => {
  const t = await testApp({
    env: {
      LDR_LLM_LMSTUDIO_URL: "http://127.0.0.1:1234/v1",
      LDR_LLM_OPENAI_API_KEY: "sk-secret-123456",
    },
  });
  try {
    const res = await t.app.request("/api/providers");
    assertEquals(res.status, 200);
    const text = await res.text();
    assert(!text.includes("sk-secret-123456"));
    const { providers } = JSON.parse(text);
    assertEquals(providers.map((p: { id: string }) => p.id), [
      "lmstudio",
      "llamacpp",
      "ollama",
      "openai_endpoint",
      "openai",
    ]);
    assertEquals(providers[0].displayName, "LM Studio");
    assertEquals(providers[0].baseUrl, "http://127.0.0.1:1234");
    assertEquals(providers[0].local, true);
    assertEquals(providers[0].selected, true);
    assertEquals(providers[4].keySet, true);
    assertEquals(providers[4].local, false);
  } finally {
    t.close();
  }
});

Deno.test("GET /api/providers/:id/status probes the saved URL; unknown id is a 404 JSON error", async () => {
  const lm = await startFakeLmStudio();
  const t = await testApp({ env: { LDR_LLM_LMSTUDIO_URL: lm.url } });
  try {
    const res = await t.app.request("/api/providers/lmstudio/status");
    assertEquals(res.status, 200);
    const body = await res.json();
    assertEquals([body.id, body.state, body.server, body.modelCount, body.baseUrl], [
      "lmstudio",
      "available",
      "lmstudio",
      3,
      lm.url,
    ]);
    assertEquals(typeof body.latencyMs, "number");
    const missing = await t.app.request("/api/providers/nope/status");
    assertEquals(missing.status, 404);
    assertEquals((await missing.json()).error.kind, "not_found");
  } finally {
    t.close();
    await lm.close();
  }
});

Deno.test("status follows a saved URL change at once (cache dropped)", async () => {
  const lm = await startFakeLmStudio();
  const t = await testApp();
  try {
    await t.app.request("/api/settings", json("PATCH", { "llm.lmstudio.url": refusedUrl() }));
    assertEquals(
      (await (await t.app.request("/api/providers/lmstudio/status")).json()).state,
      "unreachable",
    );
    await t.app.request("/api/settings", json("PATCH", { "llm.lmstudio.url": lm.url }));
    assertEquals(
      (await (await t.app.request("/api/providers/lmstudio/status")).json()).state,
      "available",
    );
  } finally {
    t.close();
    await lm.close();
  }
});

Deno.test("POST /api/providers/:id/test probes unsaved values and validates the URL", async () => {
  const lm = await startFakeLmStudio({ apiToken: "tok-unsaved-1" });
  const t = await testApp();
  try {
    const noKey = await t.app.request(
      "/api/providers/lmstudio/test",
      json("POST", { url: `${lm.url}/v1/` }),
    );
    assertEquals(noKey.status, 200);
    assertEquals((await noKey.json()).state, "auth_required");
    const withKey = await t.app.request(
      "/api/providers/lmstudio/test",
      json("POST", { url: lm.url.replace("http://", ""), apiKey: "tok-unsaved-1" }),
    );
    const body = await withKey.json();
    assertEquals([body.state, body.baseUrl], ["available", lm.url]);
    const bad = await t.app.request(
      "/api/providers/lmstudio/test",
      json("POST", { url: "ftp://x" }),
    );
    assertEquals(bad.status, 400);
    const err = await bad.json();
    assertEquals(err.error.kind, "validation");
    assertStringIncludes(err.error.message, "http://");
    const unknown = await t.app.request("/api/providers/nope/test", json("POST", { url: lm.url }));
    assertEquals(unknown.status, 404);
  } finally {
    t.close();
    await lm.close();
  }
});

Deno.test("GET /api/providers/:id/models returns normalised models; ?type=chat drops embeddings", async () => {
  const lm = await startFakeLmStudio();
  const t = await testApp({ env: { LDR_LLM_LMSTUDIO_URL: lm.url } });
  try {
    const all = await (await t.app.request("/api/providers/lmstudio/models")).json();
    assertEquals(all.source, "lmstudio-v1");
    assertEquals(all.models.length, 3);
    assertEquals(all.models[0].loadedContextLength, 4096);
    assertEquals(Object.keys(all.models[0]).sort(), [
      "arch",
      "capabilities",
      "displayName",
      "id",
      "instances",
      "loadedContextLength",
      "maxContextLength",
      "quantization",
      "state",
      "type",
    ]);
    const chat = await (await t.app.request("/api/providers/lmstudio/models?type=chat")).json();
    assertEquals(chat.models.length, 2);
    assert(chat.models.every((m: { type: string }) => m.type !== "embedding"));
  } finally {
    t.close();
    await lm.close();
  }
});

Deno.test("an upstream failure listing models is a 502 carrying the typed error", async () => {
  const url = refusedUrl();
  const t = await testApp({ env: { LDR_LLM_LMSTUDIO_URL: url } });
  try {
    const res = await t.app.request("/api/providers/lmstudio/models");
    assertEquals(res.status, 502);
    const { error } = await res.json();
    assertEquals([error.kind, error.title], ["connection", "LLM Connection Error"]);
    assertStringIncludes(error.message, url);
    assert(error.hint.length > 0);
  } finally {
    t.close();
  }
});

Deno.test("statuses of all providers run in parallel: a dead one does not delay the others", async () => {
  const lm = await startFakeLmStudio();
  const llama = await startFakeLlamaCpp();
  const hole = blackHole();
  const t = await testApp({
    env: {
      LDR_LLM_LMSTUDIO_URL: lm.url,
      LDR_LLM_LLAMACPP_URL: llama.url,
      LDR_LLM_OLLAMA_URL: hole.url,
    },
  });
  try {
    const t0 = performance.now();
    const res = await t.app.request("/api/providers?status=1");
    const took = performance.now() - t0;
    const { providers } = await res.json();
    const state = (id: string) => providers.find((p: { id: string }) => p.id === id).status.state;
    assertEquals(state("lmstudio"), "available");
    assertEquals(state("llamacpp"), "available");
    assertEquals(state("ollama"), "timeout");
    assertEquals(state("openai_endpoint"), "unreachable");
    // Sanity bound only: five probes of 1 s each in parallel, not in sequence.
    assert(took < 3000, `all statuses took ${took} ms`);
  } finally {
    t.close();
    hole.close();
    await lm.close();
    await llama.close();
  }
});

Deno.test("a status change drops the cached model list: a server that now wants another token lists nothing", async () => {
  const lm = await startFakeLmStudio({ apiToken: "tok-a" });
  const t = await testApp({
    env: { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_LMSTUDIO_API_KEY: "tok-a" },
  });
  try {
    assertEquals(
      (await (await t.app.request("/api/providers/lmstudio/status")).json()).state,
      "available",
    );
    assertEquals((await t.app.request("/api/providers/lmstudio/models")).status, 200);
    lm.set({ apiToken: "tok-b" });
    const after = await (await t.app.request("/api/providers/lmstudio/status?fresh=1")).json();
    assertEquals(after.state, "auth_required");
    // Within the list's cache lifetime: the page reloads the list when the state changes, and
    // must not be handed the list from before.
    const models = await t.app.request("/api/providers/lmstudio/models");
    assertEquals(models.status, 502);
    assertEquals((await models.json()).error.kind, "authentication");
  } finally {
    t.close();
    await lm.close();
  }
});
