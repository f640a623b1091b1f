/**
 * Per open stream, split: RSS and its smaps parts next to V8's own figures after a full GC
 * (heapUsed, heapTotal, external: ArrayBuffer backing stores), for checkouts side by side in
 * interleaved rounds of fresh processes. Each process: the bench's first answer and 40 warm-up
 * streams, then 256 open streams (the bench's "per open stream"), closed, and 3 s later a second
 * 256: what a stream costs once the first burst has touched the code pages and grown the heaps.
 * Each checkout runs its own main.ts under scripts/mem_probe.ts with its start task's flags plus
 * `--expose-gc`; `--snap <prefix>` also writes a heap snapshot at each of the four moments.
 *
 *   deno run -A scripts/bench_mem_split.ts <dir> ... [--rounds 3] [--snap /tmp/s]
 *
 * Loopback only, bounded loops.
 */
import { documentOnce } from "./bench_client.ts";
import { fmt, loadAverage, median, memoryParts, rssKb, sleep, spawn, stop } from "./bench_util.ts";
import { runFlags } from "./bench_ab.ts";
import { load, specFor } from "./bench_runs.ts";
import { openStreams } from "./bench.ts";

const PORT_LINE = /^\{"port":(\d+)\}/;
const PROBE = new URL("./mem_probe.ts", import.meta.url).pathname;
const STREAMS = 256;
const flag = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i === -1 ? null : Deno.args[i + 1];
};
const rounds = Number(flag("--rounds") ?? 3);
const snap = flag("--snap");
const dirs = Deno.args.filter((a, i) => !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--"));

interface Sample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  executable: number;
  anonymous: number;
  mallocHeap: number;
}

async function once(dir: string, mockUrl: string, tag: string) {
  const run = runFlags(dir);
  const args = run.args.map((a) => a.startsWith("--v8-flags=") ? `${a},--expose-gc` : a);
  if (!args.some((a) => a.startsWith("--v8-flags="))) args.push("--v8-flags=--expose-gc");
  args.splice(1, 0, `--config=${dir}/deno.json`);
  const side = 47000 + Math.floor(Math.random() * 2000);
  const p = await spawn(
    [...args, PROBE, "--port", "0", "--kv", ":memory:"],
    {
      ...run.env,
      SIDE_PORT: String(side),
      MAIN: `file://${dir}/main.ts`,
      LDR_LLM_LMSTUDIO_URL: mockUrl,
      NO_COLOR: "1",
    },
    /running at (http:\/\/[^/\s]+)\//,
    dir,
  );
  let moment = 0;
  const sample = async (): Promise<Sample> => {
    const m = await (await fetch(`http://127.0.0.1:${side}/`)).json();
    await sleep(500);
    const parts = memoryParts(p.pid);
    const s = { rss: rssKb(p.pid) * 1024, ...m, ...parts };
    for (const k of ["executable", "anonymous", "mallocHeap"] as const) s[k] *= 1024;
    if (snap) await fetch(`http://127.0.0.1:${side}/snap?f=${snap}-${tag}-${moment}.heapsnapshot`);
    moment++;
    return s;
  };
  const per = (a: Sample, b: Sample) =>
    Object.fromEntries(
      (Object.keys(a) as (keyof Sample)[]).map((k) => [k, (b[k] - a[k]) / STREAMS / 1024]),
    ) as unknown as Sample;
  try {
    const first = await documentOnce(p.url, { deltas: 10, intervalMs: 0, promptMs: 0 });
    if (!first.ok) throw new Error(first.error);
    await load(p.url, 4, 40, specFor(4), false);
    await sleep(2000);
    const idle = await sample();
    const close = await openStreams(p.url, STREAMS);
    await sleep(1000);
    const open = await sample();
    close();
    await sleep(3000);
    const idle2 = await sample();
    const close2 = await openStreams(p.url, STREAMS);
    await sleep(1000);
    const open2 = await sample();
    close2();
    return { first: per(idle, open), second: per(idle2, open2) };
  } finally {
    await stop(p);
  }
}

const show = (s: Sample) =>
  `RSS ${fmt(s.rss, 1)} KB (exe ${fmt(s.executable, 1)} anon ${fmt(s.anonymous, 1)} heap ${
    fmt(s.mallocHeap, 1)
  }), V8 used ${fmt(s.heapUsed, 1)} total ${fmt(s.heapTotal, 1)} external ${fmt(s.external, 1)}`;

const mock = await spawn(["run", "--allow-net", "scripts/bench_upstream.ts"], {}, PORT_LINE);
const mockUrl = `http://127.0.0.1:${mock.url}`;
const results: Record<string, Awaited<ReturnType<typeof once>>[]> = {};
console.log(`load ${loadAverage()}`);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...dirs].reverse() : dirs;
  for (const [i, dir] of order.entries()) {
    const res = await once(dir, mockUrl, `${r}-${i}`);
    (results[dir] ??= []).push(res);
    console.log(`${dir}: first ${show(res.first)}; second ${show(res.second)}`);
  }
}
console.log(`load ${loadAverage()}`);
for (const dir of dirs) {
  const m = (pick: (x: (typeof results)[string][0]) => Sample) =>
    Object.fromEntries(
      Object.keys(pick(results[dir][0])).map((
        k,
      ) => [k, median(results[dir].map((x) => pick(x)[k as keyof Sample]))]),
    ) as unknown as Sample;
  console.log(
    `MEDIAN ${dir}: first ${show(m((x) => x.first))}; second ${show(m((x) => x.second))}`,
  );
}
await stop(mock);
