/**
 * Measures what the research benchmarks report (numbers printed, never asserted):
 * - KV commits (and mutations) per 1000 streamed tokens, at full speed and at 100 tokens/s;
 * - heap held by 10 concurrent runs, each paused mid-stream after 500 tokens.
 *
 *   deno run -A --v8-flags=--expose-gc tests/research/measure.ts
 *
 * `measureResearch()` is exported for scripts/bench.ts.
 */
import { createContext } from "../../app.ts";
import { migrate } from "../../lib/kv/migrations.ts";
import { providerServiceFor } from "../../lib/providers/service.ts";
import { createLiveRun, DEFAULT_FLUSH } from "../../lib/research/live.ts";
import { insertRun, newRunRecord } from "../../lib/research/runs.ts";
import type { RunSettings } from "../../lib/research/schema.ts";
import { createResearchService, type ResearchService } from "../../lib/research/service.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { words } from "./support.ts";

async function setup(fake: Parameters<typeof startFakeLmStudio>[0]) {
  const lm = await startFakeLmStudio(fake);
  const kv = await Deno.openKv(":memory:");
  await migrate(kv);
  const shutdown = new AbortController();
  const ctx = createContext({
    kv,
    shutdown: shutdown.signal,
    env: { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_APP_MAX_CONCURRENT_RESEARCHES: "16" },
  });
  const service = createResearchService(ctx, providerServiceFor(ctx));
  await service.ready;
  return {
    lm,
    service,
    async close() {
      shutdown.abort();
      await service.idle();
      await lm.close();
      kv.close();
    },
  };
}

async function waitFor(
  service: ResearchService,
  id: string,
  pred: (len: number, status: string) => boolean,
) {
  for (;;) {
    const v = await service.get(id);
    if (v && pred(v.text.length, v.run.status)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** KV writes for one quick run of `tokens` tokens at `tokenDelayMs` between tokens. */
async function writesPer1000(tokens: number, tokenDelayMs: number) {
  const env = await setup({ reply: words(tokens), tokenDelayMs });
  try {
    const before = { ...env.service.writes };
    const run = await env.service.start({ query: "measure", mode: "quick" });
    await waitFor(env.service, run.id, (_, s) => s === "completed");
    await env.service.idle();
    const commits = env.service.writes.commits - before.commits;
    const mutations = env.service.writes.mutations - before.mutations;
    return {
      tokens,
      tokenDelayMs,
      commits,
      mutations,
      commitsPer1000: Math.round(commits / tokens * 1000 * 10) / 10,
      mutationsPer1000: Math.round(mutations / tokens * 1000 * 10) / 10,
    };
  } finally {
    await env.close();
  }
}

function heap(): number {
  // deno-lint-ignore no-explicit-any
  const gc = (globalThis as any).gc as (() => void) | undefined;
  gc?.();
  gc?.();
  return Deno.memoryUsage().heapUsed;
}

/** Heap held while 10 runs are each paused after 500 streamed tokens. */
async function memoryFor10Runs() {
  const env = await setup({ reply: words(2000), fault: { kind: "hang", afterTokens: 500 } });
  try {
    // Warm up code paths so the baseline is not inflated by first-use compilation.
    const warm = await env.service.start({ query: "warm-up", mode: "quick" });
    await waitFor(env.service, warm.id, (len) => len >= words(500).length);
    await env.service.cancel(warm.id);
    const base = heap();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push((await env.service.start({ query: `m${i}`, mode: "quick" })).id);
    }
    for (const id of ids) await waitFor(env.service, id, (len) => len >= words(500).length);
    await new Promise((r) => setTimeout(r, 400)); // let the last batches flush
    const held = heap() - base;
    for (const id of ids) await env.service.cancel(id);
    return {
      runs: 10,
      tokensEach: 500,
      heldBytes: held,
      perRunBytes: Math.round(held / 10),
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === "function",
    };
  } finally {
    await env.close();
  }
}

/** Heap of the research state alone: 10 live runs of 500 delta events each, flushed. */
async function stateFor10Runs() {
  const kv = await Deno.openKv(":memory:");
  try {
    const stats = { commits: 0, mutations: 0 };
    const make = async (i: number) => {
      const record = newRunRecord(`s${i}`, {
        query: "q",
        mode: "quick",
        settings: {} as RunSettings,
        createdAt: 0,
        owner: "bench",
      });
      const res = await insertRun(kv, record, {});
      return createLiveRun(kv, { record, versionstamp: res.versionstamp }, {
        policy: DEFAULT_FLUSH,
        now: () => 0,
        stats,
        log: () => {},
      });
    };
    await make(99); // warm-up
    const base = heap();
    const runs = [];
    for (let i = 0; i < 10; i++) {
      const run = await make(i);
      for (let t = 0; t < 500; t++) {
        run.emit("delta", { text: ` w${t}` });
        run.text.append(` w${t}`);
      }
      await run.flush();
      runs.push(run);
    }
    const held = heap() - base;
    for (const run of runs) await run.close();
    return { runs: 10, tokensEach: 500, heldBytes: held, perRunBytes: Math.round(held / 10) };
  } finally {
    kv.close();
  }
}

/** All research measurements. */
export async function measureResearch() {
  return {
    writesFullSpeed: await writesPer1000(2000, 0),
    writes100tps: await writesPer1000(500, 10),
    memory: await memoryFor10Runs(),
    researchStateOnly: await stateFor10Runs(),
  };
}

if (import.meta.main) {
  console.log(JSON.stringify(await measureResearch(), null, 2));
}
