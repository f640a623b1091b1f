/**
 * Client disconnects, one phase per relay code path: the client hangs up at a known point of a
 * request and the mock notes when its side of the request went away (wall clock, comparable
 * across processes). Used by scripts/bench.ts.
 */
import { chatBody, includes, nextId, type Spec } from "./bench_client.ts";
import { mockLog } from "./bench_runs.ts";
import { median, sleep, wallNow } from "./bench_util.ts";

/** A phase of a request at which the client hangs up, and the code path that must notice. */
export interface Phase {
  name: string;
  /** The relay code the disconnect has to travel through (lib/gateway/relay.ts). */
  path: string;
  stream: boolean;
  spec: Spec;
  /**
   * Resolves once the phase is reached; `arrived` resolves once the mock has the request (so a
   * slow machine cannot make the client hang up before the request was even forwarded).
   */
  reach: (res: Promise<Response>, arrived: () => Promise<void>) => Promise<void>;
}

async function readContent(res: Promise<Response>, frames: number): Promise<void> {
  const reader = (await res).body!.getReader();
  const content = new TextEncoder().encode('"content"');
  for (let seen = 0; seen < frames;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (includes(value, content)) seen++;
  }
  reader.releaseLock();
}

export const PHASES: Phase[] = [
  {
    name: "before upstream headers (model loading)",
    path: "awaiting the upstream `fetch`",
    stream: true,
    spec: { deltas: 10, intervalMs: 10, promptMs: 0, headerMs: 10_000 },
    reach: async (_res, arrived) => {
      await arrived();
      await sleep(10);
    },
  },
  {
    name: "stream: headers sent, prompt processing",
    path: "the pump's first upstream read",
    stream: true,
    spec: { deltas: 10, intervalMs: 10, promptMs: 10_000 },
    reach: async (res) => {
      await res;
      await sleep(20);
    },
  },
  {
    name: "stream: mid-stream",
    path: "the pump's read between frames",
    stream: true,
    spec: { deltas: 100_000, intervalMs: 5, promptMs: 0 },
    reach: (res) => readContent(res, 5),
  },
  {
    name: "stream: client stopped reading (backpressure)",
    path: "the pump paused on a full client queue",
    stream: true,
    spec: { deltas: 5_000_000, intervalMs: 0, promptMs: 0 },
    reach: async (res) => {
      await readContent(res, 5);
      await sleep(200); // the client reads nothing more: every queue fills, the pump waits
    },
  },
  {
    name: "non-stream: headers sent, document pending",
    path: "the whole-document read",
    stream: false,
    spec: { deltas: 10, intervalMs: 0, promptMs: 0, bodyMs: 10_000 },
    // Not `await res`: deepstudio answers only once the whole document is in.
    reach: async (_res, arrived) => {
      await arrived();
      await sleep(20);
    },
  },
];

/** Abort → the mock noticing, per run of one phase (wall clock across processes). */
export async function disconnectLag(base: string, mockUrl: string, phase: Phase, runs: number) {
  const lags: number[] = [];
  const phasesSeen = new Set<string>();
  let missed = 0;
  for (let i = 0; i < runs; i++) {
    const id = nextId("d");
    const ac = new AbortController();
    const res = fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chatBody(phase.spec, { stream: phase.stream, usage: false }, id),
      signal: ac.signal,
    });
    res.catch(() => {});
    let seen: { at: number; phase: string } | undefined;
    const arrived = async () => {
      for (let tries = 0; tries < 500; tries++) {
        const log = await mockLog(mockUrl);
        if (log.received[id] !== undefined) return;
        await sleep(5);
      }
    };
    await phase.reach(res, arrived);
    const at = wallNow();
    ac.abort();
    (await res.catch(() => null))?.body?.cancel().catch(() => {});
    for (let tries = 0; tries < 50 && !seen; tries++) {
      await sleep(20);
      seen = (await mockLog(mockUrl)).aborts[id];
    }
    if (seen) {
      lags.push(seen.at - at);
      phasesSeen.add(seen.phase);
    } else missed++;
  }
  return { lags, missed, phasesSeen: [...phasesSeen], p50: median(lags) };
}
