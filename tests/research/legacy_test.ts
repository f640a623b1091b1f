import { assertEquals } from "../assert.ts";
import { kvGet, runKey, SCHEMA_VERSION_KEY } from "../../lib/kv/keys.ts";
import { migrate } from "../../lib/kv/migrations.ts";
import { readEvents } from "../../lib/research/events.ts";
import type { RunRecord } from "../../lib/research/schema.ts";

Deno.test("a run the previous version left running is ended interrupted by the migration, and old records gain the new fields", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(SCHEMA_VERSION_KEY, 1);
    const base = {
      query: "q",
      mode: "quick",
      settings: {},
      createdAt: 1,
      startedAt: 1,
      finishedAt: null,
      progress: { phase: "answer", message: "…", percent: 40 },
      metrics: { ttftMs: null, tokensPerSecond: null, usage: null, model: null, steps: 0 },
      error: null,
      steps: [],
      lastSeq: 4,
      textLength: 0,
      textChunks: 0,
    };
    await kv.set(runKey("old1"), { ...base, id: "old1", status: "running" });
    await kv.set(runKey("old2"), { ...base, id: "old2", status: "completed", finishedAt: 2 });
    assertEquals(await migrate(kv), 2);
    const a = (await kvGet(kv, runKey("old1"))).value as RunRecord;
    assertEquals([a.status, a.lastSeq, a.resumes, a.owner], ["interrupted", 7, 0, null]);
    assertEquals(a.pipeline.map((s) => [s.name, s.state]), [["answer", "pending"]]);
    assertEquals((await readEvents(kv, "old1")).map((e) => e.type), ["status", "progress", "done"]);
    const b = (await kvGet(kv, runKey("old2"))).value as RunRecord;
    assertEquals([b.status, b.lastSeq, b.resumes], ["completed", 4, 0]);
  } finally {
    kv.close();
  }
});
