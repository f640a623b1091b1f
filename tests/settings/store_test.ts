import { assert, assertEquals } from "../assert.ts";
import { createSettingsStore } from "../../lib/settings/store.ts";
import { readEnvOverrides } from "../../lib/settings/env.ts";
import { settingKey, SETTINGS_REVISION_KEY } from "../../lib/kv/keys.ts";

async function store(env: Record<string, string> = {}) {
  const kv = await Deno.openKv(":memory:");
  return { kv, settings: createSettingsStore(kv, readEnvOverrides(env)) };
}

Deno.test("a stored value that no longer validates falls back to the default and is reported", async () => {
  const { kv, settings } = await store();
  await kv.set(settingKey("llm.temperature"), "very hot");
  await kv.set(settingKey("llm.max_tokens"), 512);
  await kv.set(settingKey("llm.removed_in_v2"), 1);
  const r = await settings.get();
  assertEquals(r.values["llm.temperature"], 0.7);
  assertEquals(r.sources["llm.temperature"], "default");
  assertEquals(r.values["llm.max_tokens"], 512);
  assertEquals(r.sources["llm.max_tokens"], "kv");
  assertEquals(r.invalidStored.map((i) => i.key), ["llm.temperature"]);
  kv.close();
});

Deno.test("a patch with one bad key stores nothing", async () => {
  const { kv, settings } = await store();
  const r = await settings.patch({ "llm.model": "qwen", "llm.temperature": 9 });
  assert(!r.ok && r.kind === "validation");
  assertEquals(r.issues.map((i) => i.key), ["llm.temperature"]);
  assertEquals((await kv.get(settingKey("llm.model"))).value, null);
  kv.close();
});

Deno.test("env wins over KV, locks the key, and a patch of it is refused", async () => {
  const { kv, settings } = await store({ LDR_LLM_LMSTUDIO_URL: "http://127.0.0.1:9999" });
  await kv.set(settingKey("llm.lmstudio.url"), "http://stored:1234");
  const r = await settings.get();
  assertEquals(r.values["llm.lmstudio.url"], "http://127.0.0.1:9999");
  assertEquals(r.sources["llm.lmstudio.url"], "env");
  assert(settings.isLocked("llm.lmstudio.url"));
  const p = await settings.patch({ "llm.lmstudio.url": "http://other:1" });
  assert(!p.ok && p.kind === "locked");
  const reset = await settings.reset("llm.lmstudio.url");
  assert(!reset.ok && reset.kind === "locked");
  assertEquals((await kv.get(settingKey("llm.lmstudio.url"))).value, "http://stored:1234");
  kv.close();
});

Deno.test("concurrent patches from 20 tasks keep every accepted write and none is half-applied", async () => {
  const { kv, settings } = await store();
  const independent = [
    ["llm.top_k", 7],
    ["llm.repetition_penalty", 1.1],
    ["llm.request_timeout", 33],
    ["llm.local_context_window_size", 8192],
    ["llm.context_window_size", 64000],
    ["app.max_concurrent_researches", 5],
    ["llm.streaming", false],
    ["llm.supports_max_tokens", false],
  ] as const;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const patch: Record<string, unknown> = {
        "llm.model": `model-${i}`,
        "llm.max_tokens": 1000 + i,
      };
      if (i < independent.length) patch[independent[i][0]] = independent[i][1];
      return settings.patch(patch);
    }),
  );
  assertEquals(results.filter((r) => r.ok).length, 20);
  const final = (await settings.get()).values;
  const model = final["llm.model"];
  assertEquals(
    model,
    `model-${final["llm.max_tokens"] - 1000}`,
    "a pair written together stays together",
  );
  for (const [key, value] of independent) assertEquals(final[key], value, `${key} kept`);
  assertEquals(
    (await kv.get(SETTINGS_REVISION_KEY)).value,
    20n,
    "each accepted write applied exactly once",
  );
  kv.close();
});

Deno.test("reset deletes the stored value so the default applies again", async () => {
  const { kv, settings } = await store();
  await settings.patch({ "llm.temperature": 1.5 });
  assertEquals((await settings.get()).values["llm.temperature"], 1.5);
  const r = await settings.reset("llm.temperature");
  assert(r.ok);
  assertEquals(r.settings.values["llm.temperature"], 0.7);
  assertEquals(r.settings.sources["llm.temperature"], "default");
  kv.close();
});

Deno.test("a setting saved by another process on the same KV file applies at this one's next read", async () => {
  const dir = await Deno.makeTempDir();
  // Two handles on one file behave like two processes: each has its own store and cache.
  const kvA = await Deno.openKv(`${dir}/shared.kv`);
  const kvB = await Deno.openKv(`${dir}/shared.kv`);
  try {
    const a = createSettingsStore(kvA, readEnvOverrides({}));
    const b = createSettingsStore(kvB, readEnvOverrides({}));
    assertEquals((await b.get()).values["llm.temperature"], 0.7); // B has it cached now
    const r = await a.patch({ "llm.temperature": 0.1 });
    assert(r.ok);
    assertEquals((await b.get()).values["llm.temperature"], 0.1);
    // And back the other way.
    assert((await b.patch({ "llm.temperature": 0.3 })).ok);
    assertEquals((await a.get()).values["llm.temperature"], 0.3);
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(dir, { recursive: true });
  }
});
