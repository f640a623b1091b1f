/**
 * `deno task bench`: what deepstudio costs, measured side by side with the floor. Processes on
 * loopback: the mock upstream (scripts/bench_upstream.ts), the bare Deno hops
 * (scripts/bench_proxy.ts: native pipe, and a minimal JavaScript relay), deepstudio itself
 * (main.ts, `--kv :memory:`, its LM Studio URL pointed at the mock) and this script as the client.
 * Every run is interleaved across targets with alternating order (scripts/bench_runs.ts); the
 * "what limits it" section comes from CPU profiles taken in the same run (scripts/bench_profile.ts).
 * Writes docs/benchmarks.md. Loopback only, bounded loops, a few minutes.
 *
 * `deno task bench --quick` runs every section with fewer samples (a smoke run, ~1 minute).
 */
import { chatBody, documentOnce, includes, rawStream } from "./bench_client.ts";
import { disconnectLag, PHASES } from "./bench_disconnect.ts";
import { measureLibrary } from "./bench_library.ts";
import { memoryLayers } from "./bench_memory.ts";
import { readProfile, summarize } from "./bench_profile.ts";
import { type BenchReport, report } from "./bench_report.ts";
import { measureResearch } from "./bench_research.ts";
import {
  checkedStreams,
  documentLevel,
  flatOut,
  load,
  mockLog,
  specFor,
  type Target,
  ttftLevel,
} from "./bench_runs.ts";
import {
  cpuSeconds,
  fmt,
  loadAverage,
  machine,
  median,
  memoryParts,
  type Proc,
  ROOT,
  rssKb,
  sleep,
  spawn,
  stop,
} from "./bench_util.ts";

const QUICK = Deno.args.includes("--quick");
const scale = (n: number) => (QUICK ? Math.max(1, Math.round(n / 4)) : n);

const PORT_LINE = /^\{"port":(\d+)\}/;

async function startHop(mockUrl: string, mode: "native" | "js" | "raw"): Promise<Proc> {
  const t0 = performance.now();
  const p = await spawn(
    ["run", "--allow-net", "scripts/bench_proxy.ts", mockUrl, mode],
    {},
    PORT_LINE,
  );
  hopStartMs.push(performance.now() - t0);
  return { ...p, url: `http://127.0.0.1:${p.url}` };
}

/** Spawn → listening of the bare hops: what starting any Deno server costs here. */
const hopStartMs: number[] = [];

async function startMock(): Promise<Proc> {
  const p = await spawn(["run", "--allow-net", "scripts/bench_upstream.ts"], {}, PORT_LINE);
  return { ...p, url: `http://127.0.0.1:${p.url}` };
}

/** The start task's `deno run` command: its `NAME=value` prefixes and its words. */
function startTaskRun(): { env: Record<string, string>; words: string[] } {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  const words = config.tasks.start.split("&&").map((s) => s.trim().split(/\s+/)).find((w) =>
    w.join(" ").replace(/^(\w+=\S*\s+)*/, "").startsWith("deno run ")
  );
  if (!words || words.at(-1) !== "main.ts") {
    throw new Error(`cannot read the deno run flags of the start task: ${config.tasks.start}`);
  }
  const env: Record<string, string> = {};
  while (/^\w+=/.test(words[0])) {
    const w = words.shift()!;
    env[w.slice(0, w.indexOf("="))] = w.slice(w.indexOf("=") + 1);
  }
  return { env, words };
}

/**
 * The flags `deno task start` gives `deno run` (read from deno.json, so the benchmark measures
 * what users run, V8 flags included).
 */
export function startTaskArgs(): string[] {
  return ["run", ...startTaskRun().words.slice(2, -1)];
}

/** The environment the start task sets for `deno run` (glibc's malloc tunables). */
export function startTaskEnv(): Record<string, string> {
  return startTaskRun().env;
}

const SERVER_ARGS = startTaskArgs();

function startDeepstudio(mockUrl: string, extra: string[] = []): Promise<Proc> {
  return spawn(
    [...SERVER_ARGS, ...extra, "main.ts", "--port", "0", "--kv", ":memory:"],
    { ...startTaskEnv(), LDR_LLM_LMSTUDIO_URL: mockUrl, NO_COLOR: "1" },
    /running at (http:\/\/[^/\s]+)\//,
  );
}

/** Spawn → listening, and spawn → the first non-streamed /v1 answer. */
async function coldStart(mockUrl: string) {
  const t0 = performance.now();
  const proc = await startDeepstudio(mockUrl);
  const listening = performance.now() - t0;
  const r = await documentOnce(proc.url, { deltas: 10, intervalMs: 0, promptMs: 0 });
  const answer = performance.now() - t0;
  const rss = rssKb(proc.pid);
  await stop(proc);
  if (!r.ok) throw new Error(`cold start: first answer failed: ${r.error}`);
  return { listening, answer, rss };
}

/** Holds `n` streams open (each past its first content frame); returns the closer. */
export async function openStreams(base: string, n: number) {
  const closers: (() => void)[] = [];
  const content = new TextEncoder().encode('"content"');
  await Promise.all(Array.from({ length: n }, async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chatBody({ deltas: 100_000, intervalMs: 1000, promptMs: 0 }, {
        stream: true,
        usage: false,
      }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done || includes(value, content)) break;
    }
    closers.push(() => {
      reader.cancel().catch(() => {});
      ac.abort();
    });
  }));
  return () => closers.forEach((c) => c());
}

/** RSS idle (warmed up) and with `n` open streams, for one process. */
async function memoryOf(proc: Proc, n: number) {
  await load(proc.url, 4, 40, specFor(4), false);
  await sleep(2000);
  const idle = rssKb(proc.pid);
  const idleParts = memoryParts(proc.pid);
  const close = await openStreams(proc.url, n);
  await sleep(1000);
  const open = rssKb(proc.pid);
  close();
  await sleep(1000);
  return { idle, idleParts, open, perStreamKb: (open - idle) / n };
}

/** Runs `work` against a deepstudio (or hop) started with `--cpu-prof`; returns its summary. */
async function profiled(
  start: (extra: string[]) => Promise<Proc>,
  work: (url: string) => Promise<number>,
) {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-bench-prof-" });
  try {
    const spawned = performance.now();
    const proc = await start(["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    await work(proc.url); // warm-up, outside the summarised window
    const cpu0 = cpuSeconds(proc.pid);
    const fromMs = performance.now() - spawned;
    const count = await work(proc.url);
    const toMs = performance.now() - spawned;
    const cpuMs = (cpuSeconds(proc.pid) - cpu0) * 1000;
    await stop(proc);
    return { summary: summarize(await readProfile(dir), 15, { fromMs, toMs }), count, cpuMs };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function main() {
  const started = new Date();
  const t0 = performance.now();
  const loadBefore = loadAverage();
  const m = await machine();
  console.log(`deepstudio benchmark on ${m.nproc} × ${m.cpu}, Deno ${m.deno}, load ${loadBefore}`);
  const mock = await startMock();
  const hop = await startHop(mock.url, "native");
  const jsHop = await startHop(mock.url, "js");
  const rawHop = await startHop(mock.url, "raw");
  const cold = [];
  for (let i = 0; i < 4; i++) cold.push(await coldStart(mock.url));
  console.log(`cold start → first answer: ${cold.map((c) => fmt(c.answer, 0)).join(", ")} ms`);
  const ds = await startDeepstudio(mock.url);
  const idleColdRss = rssKb(ds.pid);
  const direct: Target = { name: "direct", url: mock.url };
  const bare: Target = { name: "bare hop", url: hop.url, pid: hop.pid };
  const js: Target = { name: "JS relay hop", url: jsHop.url, pid: jsHop.pid };
  const raw: Target = { name: "raw JS hop", url: rawHop.url, pid: rawHop.pid };
  const gw: Target = { name: "deepstudio", url: ds.url, pid: ds.pid };
  const pids = { mock: mock.pid, "bare hop": hop.pid, deepstudio: ds.pid };
  try {
    const memory = await memoryOf(ds, 256);
    const hopMemory = await memoryOf(hop, 256);
    const jsHopMemory = await memoryOf(jsHop, 256);
    console.log(
      `RSS idle ${fmt(memory.idle / 1024, 1)} MB, ${fmt(memory.perStreamKb, 1)} KB/stream`,
    );
    await mockLog(mock.url);

    const levels = [];
    for (
      const level of [{ c: 1, total: 200 }, { c: 16, total: 384 }, { c: 64, total: 640 }, {
        c: 256,
        total: 1280,
      }]
    ) {
      const r = await ttftLevel([direct, bare, gw], mock.url, pids, {
        c: level.c,
        total: scale(level.total),
      }, 4);
      levels.push(r);
      console.log(
        `TTFT c=${r.c}: p50 ${
          [direct, bare, gw].map((t) => fmt(median(r.ttft[t.name]))).join(" / ")
        } ms`,
      );
    }
    const docs = [];
    for (const level of [{ c: 1, total: 400 }, { c: 16, total: 1600 }, { c: 64, total: 3200 }]) {
      const r = await documentLevel(
        [direct, bare, gw],
        { c: level.c, total: scale(level.total) },
        4,
      );
      docs.push(r);
      console.log(
        `non-stream c=${r.c}: p50 ${
          [direct, bare, gw].map((t) => fmt(median(r.ms[t.name]))).join(" / ")
        } ms`,
      );
    }
    const flat = [];
    for (
      const o of [
        { streams: 1, frames: 40_000, client: "raw socket" as const },
        { streams: 8, frames: 40_000, client: "raw socket" as const },
        { streams: 1, frames: 20_000, client: "fetch reader" as const },
      ]
    ) {
      const row = await flatOut([direct, bare, js, raw, gw], mock.url, {
        ...o,
        frames: scale(o.frames),
        rounds: QUICK ? 2 : 6,
      });
      flat.push(row);
      console.log(
        `flat out ×${row.streams} (${row.client}): ${
          [direct, bare, js, raw, gw].map((t) => fmt(median(row.framesPerS[t.name]), 0)).join(
            " / ",
          )
        } frames/s`,
      );
    }
    const checked = await checkedStreams([direct, bare, gw], mock.url, scale(2000));
    const disconnects = [];
    for (const phase of PHASES) {
      const d = await disconnectLag(direct.url, mock.url, phase, scale(12));
      const g = await disconnectLag(gw.url, mock.url, phase, scale(12));
      disconnects.push({ phase, direct: d, gateway: g });
      console.log(
        `disconnect, ${phase.name}: ${fmt(d.p50)} / ${fmt(g.p50)} ms, missed ${g.missed}`,
      );
    }
    // The disconnect phases are load too: the 10 s count from the last request.
    await sleep(10_000);
    const afterLoadRss = rssKb(ds.pid);
    const afterLoadParts = memoryParts(ds.pid);
    await stop(ds);

    console.log("research pipeline overhead…");
    const research = await measureResearch(scale(8));
    console.log("library index…");
    const library = await measureLibrary({ chunks: QUICK ? 10_000 : 100_000, dims: 768 });
    const layers = await memoryLayers(QUICK ? 1 : 3);

    console.log("profiles…");
    const streamWork = async (url: string) => {
      const runs = await Promise.all(
        Array.from({ length: 8 }, () =>
          rawStream(
            url,
            chatBody({ deltas: scale(5000), intervalMs: 0, promptMs: 0 }, {
              stream: true,
              usage: false,
            }),
          )),
      );
      return runs.reduce((n, r) => n + r.frames, 0);
    };
    const docWork = async (url: string) => {
      const n = scale(2000);
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < n) {
          next++;
          await documentOnce(url, { deltas: 10, intervalMs: 0, promptMs: 0 });
        }
      }));
      return n;
    };
    const profiles = {
      stream: await profiled((x) => startDeepstudio(mock.url, x), streamWork),
      document: await profiled((x) => startDeepstudio(mock.url, x), docWork),
      jsHop: await profiled(async (x) => {
        const p = await spawn(
          ["run", "--allow-net", ...x, "scripts/bench_proxy.ts", mock.url, "js"],
          {},
          PORT_LINE,
        );
        return { ...p, url: `http://127.0.0.1:${p.url}` };
      }, streamWork),
    };

    const input: BenchReport = {
      quick: QUICK,
      seconds: (performance.now() - t0) / 1000,
      started,
      loadBefore,
      loadAfter: loadAverage(),
      m,
      cold,
      idleColdRss,
      memory,
      hopMemory,
      jsHopMemory,
      afterLoadRss,
      afterLoadParts,
      hopStartMs,
      v8Flags: SERVER_ARGS.filter((a) => a.startsWith("--v8-flags")).join(" "),
      mallocTunables: startTaskEnv().GLIBC_TUNABLES ?? "",
      levels,
      docs,
      flat,
      checked,
      disconnects,
      research,
      library,
      layers,
      profiles,
    };
    const doc = report(input);
    console.log(`\n${doc}`);
    await Deno.writeTextFile(new URL("docs/benchmarks.md", ROOT), doc);
    console.log(
      `written to docs/benchmarks.md; the benchmark took ${
        fmt((performance.now() - t0) / 1000, 0)
      } s`,
    );
  } finally {
    await stop(ds).catch(() => {});
    await stop(jsHop);
    await stop(rawHop);
    await stop(hop);
    await stop(mock);
  }
}

if (import.meta.main) await main();
