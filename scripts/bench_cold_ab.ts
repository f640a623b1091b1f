/**
 * The cold-start part of `deno task bench` (scripts/bench.ts, `coldStart`) alone, as an A/B:
 * each variant is a deepstudio checkout (its own main.ts, start task's flags and GLIBC_TUNABLES),
 * optionally with environment variables added, started as a fresh process in interleaved rounds
 * whose order alternates, against one mock upstream (scripts/bench_upstream.ts). Per start:
 * spawn → "running at" (listening), spawn → the first non-streamed /v1 answer, and RSS then.
 * One unmeasured start per variant first, so every measured start finds Deno's code cache warm
 * (the bench's first start often does not).
 *
 *   deno run -A scripts/bench_cold_ab.ts <dir>[|NAME=value] ... [--rounds 8]
 *
 * Loopback only, bounded loops.
 */
import { documentOnce } from "./bench_client.ts";
import { fmt, loadAverage, median, rssKb, spawn, stop } from "./bench_util.ts";
import { runFlags } from "./bench_ab.ts";

const PORT_LINE = /^\{"port":(\d+)\}/;

const rounds = (() => {
  const i = Deno.args.indexOf("--rounds");
  return i === -1 ? 8 : Number(Deno.args[i + 1]);
})();
const variants = Deno.args.filter((a, i) =>
  !a.startsWith("--rounds") && Deno.args[i - 1] !== "--rounds"
);

/** CPU of every live thread of `pid` in ms, from each thread's schedstat (ns, not 10 ms ticks). */
function threadsCpuMs(pid: number): number {
  let ns = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
  }
  return ns / 1e6;
}

interface Start {
  listening: number;
  answer: number;
  /** CPU of the process (all threads) at the first answer: what other load inflates least. */
  cpuMs: number;
  rssMb: number;
}

/** One fresh process of `variant`: what bench.ts's coldStart measures. */
async function once(variant: string, mockUrl: string): Promise<Start> {
  const [dir, ...over] = variant.split("|");
  const run = runFlags(dir);
  const env = Object.fromEntries(
    over.filter((o) => /^[A-Z_]+=/.test(o)).map((o) => [
      o.slice(0, o.indexOf("=")),
      o.slice(o.indexOf("=") + 1),
    ]),
  );
  const t0 = performance.now();
  const p = await spawn(
    [...run.args, "main.ts", "--port", "0", "--kv", ":memory:"],
    { ...run.env, ...env, LDR_LLM_LMSTUDIO_URL: mockUrl, NO_COLOR: "1" },
    /running at (http:\/\/[^/\s]+)\//,
    dir,
  );
  const listening = performance.now() - t0;
  try {
    const r = await documentOnce(p.url, { deltas: 10, intervalMs: 0, promptMs: 0 });
    const answer = performance.now() - t0;
    if (!r.ok) throw new Error(`${variant}: first answer failed: ${r.error}`);
    return { listening, answer, cpuMs: threadsCpuMs(p.pid), rssMb: rssKb(p.pid) / 1024 };
  } finally {
    await stop(p);
  }
}

const mock = await spawn(["run", "--allow-net", "scripts/bench_upstream.ts"], {}, PORT_LINE);
const mockUrl = `http://127.0.0.1:${mock.url}`;
console.log(`load ${loadAverage()}`);
for (const v of variants) await once(v, mockUrl); // warms each checkout's code cache
const results: Record<string, Start[]> = {};
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...variants].reverse() : variants;
  for (const v of order) {
    const s = await once(v, mockUrl);
    (results[v] ??= []).push(s);
    console.log(
      `${v}: listening ${fmt(s.listening, 0)} ms, answer ${fmt(s.answer, 0)} ms, CPU ${
        fmt(s.cpuMs, 0)
      } ms, RSS ${fmt(s.rssMb, 1)} MB`,
    );
  }
}
console.log(`load ${loadAverage()}`);
for (const v of variants) {
  const rs = results[v];
  console.log(
    `MEDIAN ${v}: listening ${fmt(median(rs.map((s) => s.listening)), 0)} ms, answer ${
      fmt(median(rs.map((s) => s.answer)), 0)
    } ms, CPU ${fmt(median(rs.map((s) => s.cpuMs)), 0)} ms, RSS after the answer ${
      fmt(median(rs.map((s) => s.rssMb)), 1)
    } MB (${rs.length} starts)`,
  );
}
await stop(mock);
