/**
 * A live run's flushes stay within Deno KV's limits (lib/kv/limits.ts): a burst of sources with
 * their passages (over 1 MB, more than one write may hold) and a burst of text in a script that
 * serialises two bytes per character (pages sized by characters would exceed 64 KiB) both land
 * whole, in order, with the record counting exactly what was written.
 */
import { assertEquals } from "../assert.ts";
import { kvGet, runPassagesKey, runSourceKey } from "../../lib/kv/keys.ts";
import { createLiveRun, DEFAULT_FLUSH } from "../../lib/research/live.ts";
import { readEvents } from "../../lib/research/events.ts";
import { insertRun, newRunRecord } from "../../lib/research/runs.ts";
import type { RunSettings } from "../../lib/research/schema.ts";

async function liveRun(id: string) {
  const kv = await Deno.openKv(":memory:");
  const record = newRunRecord(id, {
    query: "q",
    mode: "quick",
    settings: {} as RunSettings,
    createdAt: 1,
    owner: "test",
  });
  const res = await insertRun(kv, record, {});
  const logs: string[] = [];
  const live = createLiveRun(kv, { record, versionstamp: res.versionstamp }, {
    policy: DEFAULT_FLUSH,
    now: () => 1,
    stats: { commits: 0, mutations: 0 },
    log: (m) => logs.push(m),
  });
  return { kv, live, logs };
}

Deno.test("a burst of 60 sources with 16 passages each (1.3 MB) is written whole", async () => {
  const { kv, live, logs } = await liveRun("burst");
  try {
    for (let i = 0; i < 60; i++) {
      const passages = Array.from({ length: 16 }, (_, k) => ({
        id: `${i}:${k}`,
        text: `passage ${i}.${k} ` + "word ".repeat(260),
      }));
      live.put(runSourceKey("burst", i), { index: i, title: `Source ${i}` } as never);
      live.put(runPassagesKey("burst", i), passages as never);
      live.emit("progress", { message: `read ${i}`, passages } as never);
    }
    await live.flush();
    assertEquals(logs, []);
    for (const i of [0, 31, 59]) {
      assertEquals((await kvGet(kv, runPassagesKey("burst", i))).value?.length, 16);
      assertEquals((await kvGet(kv, runSourceKey("burst", i))).value?.index, i);
    }
    const events = await readEvents(kv, "burst");
    assertEquals(events.length, 60);
    assertEquals(events.map((e) => e.seq), Array.from({ length: 60 }, (_, i) => i + 1));
    assertEquals(live.record.lastSeq, 60);
  } finally {
    await live.close();
    kv.close();
  }
});

Deno.test("text in a two-byte script: event pages stay under KV's 64 KiB value limit", async () => {
  const { kv, live, logs } = await liveRun("wide");
  try {
    // 1500 deltas of 30 characters: 45 000 characters, one flush (the first write is only
    // scheduled when they are all in): one page sized by characters would be ~90 KB.
    for (let i = 0; i < 1500; i++) {
      live.emit("delta", { text: "中文文本".repeat(7) + "。，" } as never);
    }
    await live.flush();
    assertEquals(logs, []);
    assertEquals((await readEvents(kv, "wide")).length, 1500);
  } finally {
    await live.close();
    kv.close();
  }
});
