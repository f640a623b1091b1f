/**
 * routes/resume_at_start.ts: start-up builds the research service (whose first sweep adopts runs a
 * dead process left) only when the unfinished-runs index has an entry; with none, start-up
 * leaves the research code unloaded. The end-to-end case (kill -9, restart, the run completes
 * with no research request) is tests/faults/kill_test.ts.
 */
import { assertEquals } from "../assert.ts";
import { createContext } from "../../app.ts";
import { runActiveKey, RUNS_ACTIVE_PREFIX } from "../../lib/kv/keys.ts";
import { resumeResearchAtStart } from "../../routes/resume_at_start.ts";

async function activeEntries(kv: Deno.Kv): Promise<number> {
  return (await Array.fromAsync(kv.list({ prefix: RUNS_ACTIVE_PREFIX }))).length;
}

Deno.test("no unfinished run: start-up builds no research service", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const shutdown = new AbortController();
    assertEquals(
      await resumeResearchAtStart(createContext({ kv, shutdown: shutdown.signal })),
      false,
    );
    shutdown.abort();
  } finally {
    kv.close();
  }
});

Deno.test("an unfinished-runs entry: start-up builds the service, and its sweep runs with no request", async () => {
  const kv = await Deno.openKv(":memory:");
  const shutdown = new AbortController();
  try {
    // An index entry whose run record is gone: the sweep drops it, which shows it ran.
    await kv.set(runActiveKey("vanished-run"), "dead-owner");
    assertEquals(await activeEntries(kv), 1);
    const ctx = createContext({ kv, shutdown: shutdown.signal });
    assertEquals(await resumeResearchAtStart(ctx), true);
    const { researchServiceFor } = await import("../../lib/research/service.ts");
    const { providerServiceFor } = await import("../../lib/providers/service.ts");
    const service = researchServiceFor(ctx, providerServiceFor(ctx));
    await service.list({ limit: 1 }); // every operation awaits the start-up sweep
    assertEquals(await activeEntries(kv), 0, "the start-up sweep removed the stale entry");
  } finally {
    shutdown.abort();
    kv.close();
  }
});
