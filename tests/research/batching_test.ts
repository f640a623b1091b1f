/**
 * "A token costs no KV write" (ARCHITECTURE.md): a run streaming N tokens commits a bounded
 * number of times: once per state change (status, step), plus once per `flushBytes` of events,
 * plus once per `flushMs` of streaming. With the timer out of the way the bound is arithmetic
 * over the run's own events; with the defaults it is checked against the run's own duration too.
 */
import { assert } from "../assert.ts";
import { createContext } from "../../app.ts";
import { migrate } from "../../lib/kv/migrations.ts";
import { providerServiceFor } from "../../lib/providers/service.ts";
import { readEvents } from "../../lib/research/events.ts";
import { DEFAULT_FLUSH, type FlushPolicy } from "../../lib/research/live.ts";
import { createResearchService } from "../../lib/research/service.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { words } from "./support.ts";

/** Event types that wait for the next batch (live.ts `emit`); every other event is a state
 * change written at once, in its own commit at most (back-to-back ones may share one). */
const BATCHED = new Set(["delta", "progress", "text"]);

async function streamRun(tokens: number, tokenDelayMs: number, flush: FlushPolicy) {
  const lm = await startFakeLmStudio({ reply: words(tokens), tokenDelayMs });
  const kv = await Deno.openKv(":memory:");
  await migrate(kv);
  const shutdown = new AbortController();
  const ctx = createContext({
    kv,
    shutdown: shutdown.signal,
    env: { LDR_LLM_LMSTUDIO_URL: lm.url },
  });
  const service = createResearchService(ctx, providerServiceFor(ctx), { flush });
  try {
    await service.ready;
    const started = performance.now();
    const run = await service.start({ query: "count the writes", mode: "quick" });
    await service.idle();
    const ms = performance.now() - started;
    const view = (await service.get(run.id))!;
    const events = await readEvents(kv, run.id);
    const deltas = events.filter((e) => e.type === "delta");
    const bytes = events.reduce((a, e) => a + JSON.stringify(e).length + 8, 0);
    // State changes plus the final close: how many commits a run may make besides its batches.
    const stateCommits = events.filter((e) => !BATCHED.has(e.type)).length + 1;
    return {
      commits: service.writes.commits,
      deltas: deltas.length,
      bytes,
      ms,
      view,
      stateCommits,
    };
  } finally {
    shutdown.abort();
    await lm.close();
    kv.close();
  }
}

Deno.test("streaming 3000 tokens at full speed commits once per 16 KiB of events, not per token", async () => {
  const flush = { flushMs: 3_600_000, flushBytes: DEFAULT_FLUSH.flushBytes };
  const r = await streamRun(3000, 0, flush);
  assert(
    r.view.run.status === "completed",
    `${r.view.run.status}: ${JSON.stringify(r.view.run.error)}`,
  );
  assert(r.deltas >= 3000, `${r.deltas} deltas`);
  const bound = r.stateCommits + Math.ceil(r.bytes / flush.flushBytes);
  assert(r.commits <= bound, `${r.commits} commits for ${r.deltas} tokens (bound ${bound})`);
  assert(r.commits * 50 < r.deltas, `${r.commits} commits is not batching`);
});

Deno.test("with the default policy a paced stream commits about four times a second at most", async () => {
  const r = await streamRun(400, 3, DEFAULT_FLUSH);
  assert(
    r.view.run.status === "completed",
    `${r.view.run.status}: ${JSON.stringify(r.view.run.error)}`,
  );
  const bound = r.stateCommits + Math.ceil(r.bytes / DEFAULT_FLUSH.flushBytes) +
    Math.ceil(r.ms / DEFAULT_FLUSH.flushMs);
  assert(r.commits <= bound, `${r.commits} commits in ${Math.round(r.ms)} ms (bound ${bound})`);
  assert(r.commits * 10 < r.deltas, `${r.commits} commits for ${r.deltas} tokens`);
});
