/**
 * The memory part of `deno task bench` alone, as an A/B: each variant is a deepstudio checkout
 * (its own start task's flags and GLIBC_TUNABLES) with optionally its V8 flags replaced, run in
 * interleaved rounds of fresh processes against one mock upstream (scripts/bench_upstream.ts).
 * Per process, the bench's workload: RSS right after start-up, 40 warm-up streams, idle RSS, 256
 * open streams (KB per stream), then 640 streams at c=64 and 1600 non-streamed at c=16, and RSS
 * (with its smaps split) 10 s after that load.
 *
 *   deno run -A scripts/bench_mem_ab.ts <dir>[|--v8-flags=...][|NAME=value] ... [--rounds 3]
 *
 * Loopback only, bounded loops.
 */
import { documentOnce } from "./bench_client.ts";
import {
  cpuSeconds,
  fmt,
  loadAverage,
  median,
  memoryParts,
  rssKb,
  sleep,
  spawn,
  stop,
} from "./bench_util.ts";
import { runFlags } from "./bench_ab.ts";
import { load, specFor } from "./bench_runs.ts";
import { openStreams } from "./bench.ts";

const PORT_LINE = /^\{"port":(\d+)\}/;
const rounds = (() => {
  const i = Deno.args.indexOf("--rounds");
  return i === -1 ? 3 : Number(Deno.args[i + 1]);
})();
const variants = Deno.args.filter((a, i) =>
  !a.startsWith("--rounds") && Deno.args[i - 1] !== "--rounds"
);

async function once(variant: string, mockUrl: string) {
  const [dir, ...over] = variant.split("|");
  const run = runFlags(dir);
  const v8 = over.find((o) => o.startsWith("--v8-flags="));
  const env = Object.fromEntries(
    over.filter((o) => /^[A-Z_]+=/.test(o)).map((
      o,
    ) => [o.slice(0, o.indexOf("=")), o.slice(o.indexOf("=") + 1)]),
  );
  const args = v8 ? run.args.map((a) => a.startsWith("--v8-flags=") ? v8 : a) : run.args;
  const p = await spawn(
    [...args, "main.ts", "--port", "0", "--kv", ":memory:"],
    { ...run.env, ...env, LDR_LLM_LMSTUDIO_URL: mockUrl, NO_COLOR: "1" },
    /running at (http:\/\/[^/\s]+)\//,
    dir,
  );
  try {
    const first = await documentOnce(p.url, { deltas: 10, intervalMs: 0, promptMs: 0 });
    if (!first.ok) throw new Error(first.error);
    const start = rssKb(p.pid);
    await load(p.url, 4, 40, specFor(4), false);
    await sleep(2000);
    const idle = rssKb(p.pid);
    const idleParts = memoryParts(p.pid);
    const close = await openStreams(p.url, 256);
    await sleep(1000);
    const open = rssKb(p.pid);
    close();
    await sleep(1000);
    const cpu0 = cpuSeconds(p.pid);
    await load(p.url, 64, 640, specFor(64), false);
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next++ < 1600) await documentOnce(p.url, { deltas: 10, intervalMs: 0, promptMs: 0 });
    }));
    const loadCpu = cpuSeconds(p.pid) - cpu0;
    await sleep(10_000);
    const after = rssKb(p.pid);
    const afterParts = memoryParts(p.pid);
    return { start, idle, idleParts, perStream: (open - idle) / 256, after, afterParts, loadCpu };
  } finally {
    await stop(p);
  }
}

const mock = await spawn(["run", "--allow-net", "scripts/bench_upstream.ts"], {}, PORT_LINE);
const mockUrl = `http://127.0.0.1:${mock.url}`;
const results: Record<string, Awaited<ReturnType<typeof once>>[]> = {};
console.log(`load ${loadAverage()}`);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...variants].reverse() : variants;
  for (const v of order) {
    const res = await once(v, mockUrl);
    (results[v] ??= []).push(res);
    console.log(
      `${v}: start ${fmt(res.start / 1024, 1)} idle ${fmt(res.idle / 1024, 1)} (heap ${
        fmt(res.idleParts.mallocHeap / 1024, 1)
      } anon ${fmt(res.idleParts.anonymous / 1024, 1)} exe ${
        fmt(res.idleParts.executable / 1024, 1)
      }) ${fmt(res.perStream, 1)} KB/stream, after ${fmt(res.after / 1024, 1)} (heap ${
        fmt(res.afterParts.mallocHeap / 1024, 1)
      } anon ${fmt(res.afterParts.anonymous / 1024, 1)} exe ${
        fmt(res.afterParts.executable / 1024, 1)
      }), load CPU ${fmt(res.loadCpu)} s`,
    );
  }
}
console.log(`load ${loadAverage()}`);
for (const v of variants) {
  const rs = results[v];
  const m = (f: (x: (typeof rs)[0]) => number) => median(rs.map(f));
  console.log(
    `MEDIAN ${v}: start ${fmt(m((x) => x.start) / 1024, 1)} MB, idle ${
      fmt(m((x) => x.idle) / 1024, 1)
    } MB, ${fmt(m((x) => x.perStream), 1)} KB/stream, after ${
      fmt(m((x) => x.after) / 1024, 1)
    } MB (+${fmt(m((x) => (x.after / x.idle - 1) * 100), 0)} %), heap after ${
      fmt(m((x) => x.afterParts.mallocHeap) / 1024, 1)
    } MB, load CPU ${fmt(m((x) => x.loadCpu))} s`,
  );
}
await stop(mock);
