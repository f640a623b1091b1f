/**
 * The benchmark's measured runs. Every run sends the same requests to each target (the mock
 * directly, the bare Deno hop, deepstudio) in interleaved rounds whose order alternates
 * (`roundOrder`), after the same warm-up, so a change in machine load hits every target alike.
 */
import {
  chatBody,
  checkFrames,
  documentOnce,
  type FrameCheck,
  rawStream,
  type Spec,
  streamOnce,
  type StreamResult,
} from "./bench_client.ts";
import { cpuSeconds, roundOrder, sleep, withCpu } from "./bench_util.ts";

/** A place requests go: its origin and the process whose CPU is its cost (none for direct). */
export interface Target {
  name: string;
  url: string;
  pid?: number;
}

/** What the mock counted since the last call (and resets). */
export interface MockLog {
  framesSent: number;
  usageFramesSent: number;
  requests: number;
  aborts: Record<string, { at: number; phase: string }>;
  /** Request ids that arrived, by arrival time. */
  received: Record<string, number>;
}

export async function mockLog(mockUrl: string): Promise<MockLog> {
  return await (await fetch(`${mockUrl}/_bench/log`)).json() as MockLog;
}

/** Runs `total` streams, `concurrency` at a time, starts spread over one stream's length. */
export async function load(
  base: string,
  concurrency: number,
  total: number,
  spec: Spec,
  usage: boolean,
): Promise<StreamResult[]> {
  const results: StreamResult[] = [];
  let next = 0;
  const streamMs = spec.promptMs + spec.deltas * spec.intervalMs;
  const worker = async () => {
    await sleep(Math.random() * streamMs);
    while (next < total) {
      next++;
      results.push(await streamOnce(base, spec, usage));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** Per-stream cadence: a fast local server's ~2.5k tokens/s shared by all open streams. */
const AGGREGATE_TOKENS_PER_S = 2560;

export function specFor(concurrency: number): Spec {
  return {
    deltas: 10,
    intervalMs: Math.max(5, Math.round((concurrency * 1000) / AGGREGATE_TOKENS_PER_S)),
    // No simulated prompt processing: TTFT is then the pipeline's own latency.
    promptMs: 0,
  };
}

/** Frames per target, from the mock's counters and the client's parse of every event. */
export interface FrameTally {
  sent: number;
  received: number;
  usageSent: number;
  usageStripped: number;
  mismatches: number;
  streams: number;
  firstMismatch?: string;
}

export function emptyTally(): FrameTally {
  return { sent: 0, received: 0, usageSent: 0, usageStripped: 0, mismatches: 0, streams: 0 };
}

function tallyChecks(t: FrameTally, results: StreamResult[], upstreamUsage: boolean): void {
  for (const r of results) {
    if (!r.ok) continue;
    const c: FrameCheck = checkFrames(r, upstreamUsage);
    t.streams++;
    t.received += c.events;
    t.mismatches += c.mismatches;
    t.usageStripped += c.usageStripped;
    t.firstMismatch ??= c.firstMismatch;
  }
}

export interface TtftLevel {
  c: number;
  spec: Spec;
  ttft: Record<string, number[]>;
  gaps: Record<string, number[]>;
  ds: number[];
  errors: Record<string, number>;
  errorSample?: string;
  frames: Record<string, FrameTally>;
  cpu: Record<string, Record<string, number>[]>;
}

/**
 * TTFT at one concurrency: `rounds` rounds, each sending `total / rounds` streams to every target
 * in that round's order. deepstudio asks upstream for usage (the client did not), so its rows
 * exercise the stripping path.
 */
export async function ttftLevel(
  targets: Target[],
  mockUrl: string,
  pids: Record<string, number>,
  level: { c: number; total: number },
  rounds: number,
): Promise<TtftLevel> {
  const spec = specFor(level.c);
  const out: TtftLevel = {
    c: level.c,
    spec,
    ttft: {},
    gaps: {},
    ds: [],
    errors: {},
    frames: {},
    cpu: {},
  };
  for (const t of targets) {
    out.ttft[t.name] = [];
    out.gaps[t.name] = [];
    out.errors[t.name] = 0;
    out.frames[t.name] = emptyTally();
    out.cpu[t.name] = [];
    await load(t.url, level.c, level.c, spec, false); // the same warm-up for every target
  }
  await mockLog(mockUrl);
  for (let round = 0; round < rounds; round++) {
    for (const t of roundOrder(targets, round)) {
      const { value: results, cpu } = await withCpu(
        pids,
        () => load(t.url, level.c, Math.ceil(level.total / rounds), spec, false),
      );
      const log = await mockLog(mockUrl);
      out.cpu[t.name].push(cpu);
      const f = out.frames[t.name];
      f.sent += log.framesSent;
      f.usageSent += log.usageFramesSent;
      for (const r of results) {
        if (!r.ok) {
          out.errors[t.name]++;
          out.errorSample ??= `${t.name}: ${r.error}`;
          continue;
        }
        out.ttft[t.name].push(r.ttft);
        out.gaps[t.name].push(...r.gaps);
        if (!Number.isNaN(r.ds)) out.ds.push(r.ds);
      }
      tallyChecks(f, results, log.usageFramesSent > 0);
      for (const r of results) r.chunks = [];
    }
  }
  return out;
}

export interface DocLevel {
  c: number;
  ms: Record<string, number[]>;
  errors: Record<string, number>;
  errorSample?: string;
  /** CPU ms the target's own process used over all measured rounds (/proc: 10 ms ticks). */
  cpuMs: Record<string, number>;
}

/** Non-streamed requests at one concurrency, in interleaved rounds. */
export async function documentLevel(
  targets: Target[],
  level: { c: number; total: number },
  rounds: number,
): Promise<DocLevel> {
  const spec: Spec = { deltas: 10, intervalMs: 0, promptMs: 0 };
  const out: DocLevel = { c: level.c, ms: {}, errors: {}, cpuMs: {} };
  const batch = async (url: string, n: number) => {
    const results: { ms: number; ok: boolean; error?: string }[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: level.c }, async () => {
      while (next < n) {
        next++;
        results.push(await documentOnce(url, spec));
      }
    }));
    return results;
  };
  for (const t of targets) {
    out.ms[t.name] = [];
    out.errors[t.name] = 0;
    await batch(t.url, Math.max(50, level.c * 4));
  }
  const per = Math.ceil(level.total / rounds);
  for (let round = 0; round < rounds; round++) {
    for (const t of roundOrder(targets, round)) {
      const cpu0 = t.pid ? cpuSeconds(t.pid) : NaN;
      const results = await batch(t.url, per);
      if (t.pid) out.cpuMs[t.name] = (out.cpuMs[t.name] ?? 0) + (cpuSeconds(t.pid) - cpu0) * 1000;
      for (const r of results) {
        if (r.ok) out.ms[t.name].push(r.ms);
        else {
          out.errors[t.name]++;
          out.errorSample ??= `${t.name}: ${r.error}`;
        }
      }
    }
  }
  return out;
}

export interface FlatRow {
  streams: number;
  client: "raw socket" | "fetch reader";
  framesPerS: Record<string, number[]>;
  /** CPU µs of the target's own process per frame. */
  cpuUsPerFrame: Record<string, number[]>;
  ok: Record<string, boolean>;
}

/** Flat-out streams (backpressure only), raw-socket or fetch client, interleaved rounds. */
export async function flatOut(
  targets: Target[],
  mockUrl: string,
  opts: { streams: number; frames: number; rounds: number; client: FlatRow["client"] },
): Promise<FlatRow> {
  const spec: Spec = { deltas: Math.round(opts.frames / opts.streams), intervalMs: 0, promptMs: 0 };
  const once = async (url: string): Promise<{ frames: number; ok: boolean }> => {
    const runs = await Promise.all(Array.from({ length: opts.streams }, async () => {
      if (opts.client === "raw socket") {
        const r = await rawStream(url, chatBody(spec, { stream: true, usage: true }));
        return { frames: r.frames, ok: r.ok };
      }
      const r = await streamOnce(url, spec, true);
      r.chunks = [];
      return { frames: r.frames, ok: r.ok };
    }));
    return { frames: runs.reduce((n, r) => n + r.frames, 0), ok: runs.every((r) => r.ok) };
  };
  const row: FlatRow = {
    streams: opts.streams,
    client: opts.client,
    framesPerS: {},
    cpuUsPerFrame: {},
    ok: {},
  };
  for (const t of targets) {
    row.framesPerS[t.name] = [];
    row.cpuUsPerFrame[t.name] = [];
    row.ok[t.name] = true;
    await once(t.url); // warm-up, the same for each
  }
  await mockLog(mockUrl);
  for (let round = 0; round < opts.rounds; round++) {
    for (const t of roundOrder(targets, round)) {
      const cpu0 = t.pid ? cpuSeconds(t.pid) : NaN;
      const t0 = performance.now();
      const r = await once(t.url);
      const seconds = (performance.now() - t0) / 1000;
      const log = await mockLog(mockUrl);
      row.framesPerS[t.name].push(r.frames / seconds);
      if (t.pid) {
        row.cpuUsPerFrame[t.name].push(((cpuSeconds(t.pid) - cpu0) * 1e6) / r.frames);
      }
      if (!r.ok || log.framesSent !== r.frames) row.ok[t.name] = false;
    }
  }
  return row;
}

/** One streamed request per target whose every event is parsed and compared (usage asked or not). */
export async function checkedStreams(
  targets: Target[],
  mockUrl: string,
  deltas: number,
): Promise<Record<string, { asked: FrameTally; notAsked: FrameTally }>> {
  const out: Record<string, { asked: FrameTally; notAsked: FrameTally }> = {};
  await mockLog(mockUrl);
  for (const t of targets) {
    out[t.name] = { asked: emptyTally(), notAsked: emptyTally() };
    for (const usage of [true, false]) {
      const tally = usage ? out[t.name].asked : out[t.name].notAsked;
      const r = await streamOnce(t.url, { deltas, intervalMs: 0, promptMs: 0 }, usage);
      const log = await mockLog(mockUrl);
      tally.sent += log.framesSent;
      tally.usageSent += log.usageFramesSent;
      if (!r.ok) {
        tally.mismatches++;
        tally.firstMismatch ??= r.error;
      }
      tallyChecks(tally, [r], log.usageFramesSent > 0);
    }
  }
  return out;
}
