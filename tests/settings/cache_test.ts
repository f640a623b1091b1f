/**
 * The settings cache of an exclusive (`:memory:`) KV: reads cost no KV access, and no read that
 * starts after a save returned sees the settings from before it, in any store on the handle.
 */
import { assert, assertEquals } from "../assert.ts";
import { createSettingsStore } from "../../lib/settings/store.ts";
import { readEnvOverrides } from "../../lib/settings/env.ts";
import { settingKey, SETTINGS_REVISION_KEY } from "../../lib/kv/keys.ts";

/** A KV handle that counts the reads made through it (writes and watches pass untouched). */
function counted(kv: Deno.Kv) {
  const reads = { n: 0 };
  const proxy = new Proxy(kv, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      if (name === "get" || name === "getMany" || name === "list") {
        return (...args: unknown[]) => {
          reads.n++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  return { kv: proxy, reads };
}

const temperature = async (s: ReturnType<typeof createSettingsStore>) =>
  (await s.get()).values["llm.temperature"];

Deno.test("an exclusive store reads KV once, then serves its cache until a write", async () => {
  const raw = await Deno.openKv(":memory:");
  try {
    const { kv, reads } = counted(raw);
    const settings = createSettingsStore(kv, readEnvOverrides({}), { exclusive: true });
    assertEquals(await temperature(settings), 0.7);
    // Let the revision watch deliver its first value (it may invalidate the first load once).
    await new Promise((r) => setTimeout(r, 20));
    await settings.get();
    const before = reads.n;
    for (let i = 0; i < 100; i++) await settings.get();
    assertEquals(reads.n - before, 0, "100 reads of a warm cache touch no KV");
    assert((await settings.patch({ "llm.temperature": 1.1 })).ok);
    assertEquals(await temperature(settings), 1.1);
    // A store that is not exclusive checks the revision on every read.
    const plain = createSettingsStore(kv, readEnvOverrides({}));
    await plain.get();
    const plainBefore = reads.n;
    for (let i = 0; i < 10; i++) await plain.get();
    assertEquals(reads.n - plainBefore, 10);
  } finally {
    raw.close();
  }
});

Deno.test("exclusive stores on one handle: every read after a save returns sees it, reads in flight included", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const a = createSettingsStore(kv, readEnvOverrides({}), { exclusive: true });
    const b = createSettingsStore(kv, readEnvOverrides({}), { exclusive: true });
    await a.get();
    await b.get();
    for (let i = 1; i <= 30; i++) {
      const value = Math.round(i * 6.6) / 100; // 0.07 .. 1.98, each different from the last
      // Reads started before the save (their loads may overlap its commit) ...
      const early = [a.get(), b.get()];
      const saved = await (i % 2 ? a : b).patch({ "llm.temperature": value });
      assert(saved.ok);
      // ... may see either value; every read started after it returned sees the new one.
      assertEquals(await temperature(a), value, `store A after save ${i}`);
      assertEquals(await temperature(b), value, `store B after save ${i}`);
      await Promise.all(early);
      assertEquals(await temperature(b), value, `store B after the early reads settled (${i})`);
      assertEquals(await temperature(a), value, `store A after the early reads settled (${i})`);
    }
    // Saves from both stores at once: once they all returned, both read the last one committed.
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      assert((await (i % 2 ? a : b).patch({ "llm.temperature": 0.01 * (i + 1) })).ok);
      await Promise.all([a.get(), b.get()]);
    }));
    const last = (await kv.get<number>(settingKey("llm.temperature"))).value;
    assertEquals(await temperature(a), last);
    assertEquals(await temperature(b), last);
  } finally {
    kv.close();
  }
});

Deno.test("an exclusive store follows a revision bump written to its KV outside any store (kv.watch)", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const settings = createSettingsStore(kv, readEnvOverrides({}), { exclusive: true });
    assertEquals(await temperature(settings), 0.7);
    const rev = await kv.get<bigint>(SETTINGS_REVISION_KEY);
    await kv.atomic().check(rev)
      .set(SETTINGS_REVISION_KEY, (rev.value ?? 0n) + 1n)
      .set(settingKey("llm.temperature"), 0.2)
      .commit();
    const deadline = Date.now() + 5000;
    while ((await temperature(settings)) !== 0.2) {
      assert(Date.now() < deadline, "the watch never delivered the revision bump");
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    kv.close();
  }
});
