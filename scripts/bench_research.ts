/**
 * Research pipeline overhead per step, excluding model and network time. deepstudio runs in this
 * process (`createApp`, `:memory:` KV) against the fake LM Studio of tests/fakes/ answering at once;
 * every upstream call goes through a wrapped `fetch` that notes when it started and when its body
 * was read to the end. What is left of a run's wall time between those intervals is the
 * pipeline's own work: validation, target resolution, KV writes, prompt building, event fan-out.
 * It is split at the model calls: "submit → call 1", "call k → call k+1" (one step's own work),
 * "last call → done". Black-box on purpose: it holds whatever the step pipeline looks like inside.
 */
import { createApp } from "../app.ts";
import { migrate } from "../lib/kv/migrations.ts";
import { startFakeLmStudio } from "../tests/fakes/lmstudio.ts";
import { median } from "./bench_util.ts";

/** One run's gaps between model calls, ms. */
export interface ResearchOverhead {
  mode: "quick" | "detailed";
  runs: number;
  /** Median ms per segment, in order. */
  segments: { label: string; ms: number; max: number }[];
  /** Median wall time of a whole run, and the model/network share of it. */
  wallMs: number;
  upstreamMs: number;
}

const PLAN = "1. What is the first part?\n2. What is the second part?\n3. What is the third part?";

async function oneRun(
  app: ReturnType<typeof createApp>,
  calls: { start: number; end: number; chat: boolean }[],
  mode: "quick" | "detailed",
): Promise<{ segments: number[]; wall: number; upstream: number }> {
  calls.length = 0;
  const t0 = performance.now();
  const res = await app.request("/api/research", {
    method: "POST",
    headers: { "content-type": "application/json", host: "127.0.0.1" },
    body: JSON.stringify({ query: "How do the parts fit together?", mode }),
  });
  if (res.status !== 201 && res.status !== 200 && res.status !== 202) {
    throw new Error(`POST /api/research: ${res.status} ${await res.text()}`);
  }
  const { id } = await res.json() as { id: string };
  const events = await app.request(`/api/research/${id}/events`, {
    headers: { host: "127.0.0.1" },
  });
  const text = await events.text(); // ends when the run does
  const t1 = performance.now();
  if (!text.includes("event: done")) {
    throw new Error(`run ${id} did not finish: ${text.slice(-300)}`);
  }
  // Upstream time as the union of the calls' intervals (calls can overlap: a model list while
  // a completion streams), so nothing is subtracted twice.
  const merged: [number, number][] = [];
  for (const c of [...calls].sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1);
    if (last && c.start <= last[1]) last[1] = Math.max(last[1], c.end);
    else merged.push([c.start, c.end]);
  }
  const upstreamBusy = (from: number, to: number) => {
    let ms = 0;
    for (const [a, b] of merged) ms += Math.max(0, Math.min(to, b) - Math.max(from, a));
    return ms;
  };
  const chats = calls.filter((c) => c.chat).sort((a, b) => a.start - b.start);
  // Step boundaries: from one model call's end to the next one's start (never before it).
  const marks = [t0];
  for (const c of chats) marks.push(c.start, Math.max(c.start, c.end));
  marks.push(t1);
  const segments: number[] = [];
  for (let i = 0; i + 1 < marks.length; i += 2) {
    const from = marks[i], to = Math.max(marks[i], marks[i + 1]);
    segments.push(to - from - upstreamBusy(from, to));
  }
  return { segments, wall: t1 - t0, upstream: upstreamBusy(t0, t1) };
}

/** Measures `runs` quick and detailed runs. */
export async function measureResearch(runs = 10): Promise<ResearchOverhead[]> {
  const lm = await startFakeLmStudio({ reply: PLAN, tokenDelayMs: 0 });
  const kv = await Deno.openKv(":memory:");
  await migrate(kv);
  const shutdown = new AbortController();
  const calls: { start: number; end: number; chat: boolean }[] = [];
  const timedFetch: typeof fetch = async (input, init) => {
    // Model calls are the POSTs (chat completions, LM Studio's native chat, Ollama's); GETs are
    // model lists and probes, network time too but no step boundary.
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    const call = { start: performance.now(), end: NaN, chat: method.toUpperCase() === "POST" };
    calls.push(call);
    const res = await fetch(input, init);
    // A call ends with its last byte: the headers, then each chunk as it arrives. (Not at EOF:
    // a reader that has what it needs moves on before it reads the end of the body.)
    call.end = performance.now();
    if (!res.body) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        const r = await reader.read();
        if (r.done) return c.close();
        call.end = performance.now();
        c.enqueue(r.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  const app = createApp({
    kv,
    fetch: timedFetch,
    shutdown: shutdown.signal,
    env: { LDR_LLM_LMSTUDIO_URL: lm.url },
  });
  const out: ResearchOverhead[] = [];
  try {
    for (const mode of ["quick", "detailed"] as const) {
      await oneRun(app, calls, mode); // warm-up
      const all: { segments: number[]; wall: number; upstream: number }[] = [];
      for (let i = 0; i < runs; i++) all.push(await oneRun(app, calls, mode));
      const n = Math.min(...all.map((r) => r.segments.length));
      const label = (i: number) =>
        i === 0
          ? "submit → first model call"
          : i === n - 1
          ? "last model call → done"
          : `model call ${i} → ${i + 1}${
            mode === "detailed" ? (i === 1 ? " (plan → step 1)" : "") : ""
          }`;
      out.push({
        mode,
        runs,
        segments: Array.from({ length: n }, (_, i) => ({
          label: label(i),
          ms: median(all.map((r) => r.segments[i])),
          max: Math.max(...all.map((r) => r.segments[i])),
        })),
        wallMs: median(all.map((r) => r.wall)),
        upstreamMs: median(all.map((r) => r.upstream)),
      });
    }
  } finally {
    shutdown.abort();
    await lm.close();
    kv.close();
  }
  return out;
}

if (import.meta.main) console.log(JSON.stringify(await measureResearch(5), null, 2));
