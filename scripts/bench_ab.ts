/**
 * A/B of deepstudio's per-request cost: two checkouts of deepstudio (say old main and a branch)
 * and the bare hop, against one mock upstream (scripts/bench_upstream.ts), in interleaved rounds
 * whose order alternates. Per round and target: non-streamed requests at c=1 and c=16 (latency
 * p50 and the server process's CPU per request from /proc) and streams at c=1, 16, 64 (TTFT p50,
 * the bench's cadence per level). What `deno task bench` measures for the gap over the bare
 * hop, quicker, for one change at a time.
 *
 *   deno run -A scripts/bench_ab.ts <dir A> <dir B> [--rounds 6] [--n 300]
 *
 * Each dir is a deepstudio checkout with its static/build (`deno task build`) done. Loopback
 * only, bounded loops.
 */
import { documentOnce, streamOnce } from "./bench_client.ts";
import { cpuSeconds, fmt, loadAverage, median, type Proc, spawn, stop } from "./bench_util.ts";
import { startTaskArgs, startTaskEnv } from "./bench.ts";
import { specFor } from "./bench_runs.ts";

const PORT_LINE = /^\{"port":(\d+)\}/;

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i === -1 ? fallback : Number(Deno.args[i + 1]);
}

/**
 * The `deno run` flags of `dir`'s start task and the environment it sets before them (each
 * checkout with its own: V8 flags and `GLIBC_TUNABLES=...` included), so both sides run as
 * `deno task start` does.
 */
export function runFlags(dir: string): { args: string[]; env: Record<string, string> } {
  const tasks = JSON.parse(Deno.readTextFileSync(`${dir}/deno.json`)).tasks as Record<
    string,
    string
  >;
  const run = tasks.start.split("&&").map((s) => s.trim()).find((s) =>
    /^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*deno run /.test(s)
  );
  const m = run ? /^((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)deno run (.*?)\s*main\.ts\b/.exec(run) : null;
  if (!m) return { args: startTaskArgs(), env: startTaskEnv() };
  const env: Record<string, string> = {};
  for (const word of m[1].split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf("=");
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return { args: ["run", ...m[2].split(/\s+/).filter(Boolean)], env };
}

/** Starts deepstudio from checkout `dir` with the start task's flags, `--kv :memory:`. */
export async function startDs(dir: string, mockUrl: string, extra: string[] = []): Promise<Proc> {
  const run = runFlags(dir);
  const child = new Deno.Command(Deno.execPath(), {
    args: [...run.args, ...extra, "main.ts", "--port", "0", "--kv", ":memory:"],
    cwd: dir,
    env: { ...run.env, LDR_LLM_LMSTUDIO_URL: mockUrl, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`${dir}: exited before listening`);
    buf += value;
    const m = /running at (http:\/\/[^/\s]+)\//.exec(buf);
    if (m) {
      (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })();
      return { child, url: m[1], pid: child.pid, tail: [] };
    }
  }
}

interface Sample {
  docMs: number[];
  docCpu: number[];
  doc16Ms: number[];
  doc16Cpu: number[];
  ttft: number[];
  /** TTFT of streams at c=16 and c=64, the bench's cadence for each (specFor). */
  ttft16: number[];
  ttft64: number[];
  ds: number[];
  errors: number;
}

async function docs(url: string, n: number, c: number, s: Sample, into: "" | "16") {
  const spec = { deltas: 10, intervalMs: 0, promptMs: 0 };
  const ms: number[] = [];
  const cpu0 = cpuSeconds(pid(url));
  let left = n;
  await Promise.all(Array.from({ length: c }, async () => {
    while (left-- > 0) {
      const r = await documentOnce(url, spec);
      if (!r.ok) s.errors++;
      ms.push(r.ms);
    }
  }));
  const cpu = (cpuSeconds(pid(url)) - cpu0) * 1000 / n;
  (into === "" ? s.docMs : s.doc16Ms).push(...ms);
  (into === "" ? s.docCpu : s.doc16Cpu).push(cpu);
}

const pids = new Map<string, number>();
const pid = (url: string) => pids.get(url)!;

async function main() {
  const [dirA, dirB] = Deno.args;
  const rounds = flag("--rounds", 6);
  const n = flag("--n", 300);
  const mock = await spawn(["run", "--allow-net", "scripts/bench_upstream.ts"], {}, PORT_LINE);
  const mockUrl = `http://127.0.0.1:${mock.url}`;
  const hop = await spawn(
    ["run", "--allow-net", "scripts/bench_proxy.ts", mockUrl, "native"],
    {},
    PORT_LINE,
  );
  const targets: { name: string; proc: Proc }[] = [
    { name: "bare hop", proc: { ...hop, url: `http://127.0.0.1:${hop.url}` } },
    { name: "A", proc: await startDs(dirA, mockUrl) },
    { name: "B", proc: await startDs(dirB, mockUrl) },
  ];
  for (const t of targets) pids.set(t.proc.url, t.proc.pid);
  const samples = new Map<string, Sample>(targets.map((t) => [t.name, {
    docMs: [],
    docCpu: [],
    doc16Ms: [],
    doc16Cpu: [],
    ttft: [],
    ttft16: [],
    ttft64: [],
    ds: [],
    errors: 0,
  }]));
  const load0 = loadAverage();
  // Warm-up: every target the same.
  for (const t of targets) {
    await docs(t.proc.url, 200, 4, { ...samples.get(t.name)!, docMs: [], docCpu: [] }, "");
  }
  for (const s of samples.values()) {
    s.docMs = [];
    s.docCpu = [];
    s.errors = 0;
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...targets].reverse() : targets;
    for (const t of order) {
      const s = samples.get(t.name)!;
      await docs(t.proc.url, n, 1, s, "");
      await docs(t.proc.url, n * 2, 16, s, "16");
      // c=1 at the bench's cadence too (a frame every 5 ms): between frames the process idles,
      // as it does in `deno task bench`, and a lone request pays for that (a flat-out stream
      // keeps the process warm and hides it).
      const lone = specFor(1);
      for (let i = 0; i < n / 3; i++) {
        const st = await streamOnce(t.proc.url, lone, false);
        if (!st.ok) s.errors++;
        s.ttft.push(st.ttft);
        if (!Number.isNaN(st.ds)) s.ds.push(st.ds);
      }
      for (const c of [16, 64] as const) {
        const spec = specFor(c);
        let left = Math.max(c, Math.round(n / 2));
        await Promise.all(Array.from({ length: c }, async () => {
          while (left-- > 0) {
            const st = await streamOnce(t.proc.url, spec, false);
            if (!st.ok) s.errors++;
            (c === 16 ? s.ttft16 : s.ttft64).push(st.ttft);
          }
        }));
      }
    }
  }
  const load1 = loadAverage();
  console.log(
    `load before ${load0.map((x) => fmt(x)).join(" / ")}, after ${
      load1.map((x) => fmt(x)).join(" / ")
    }; ${rounds} rounds, n=${n}; A=${dirA} B=${dirB}`,
  );
  console.log(
    "| target | doc c=1 p50 ms | CPU ms/req c=1 | doc c=16 p50 ms | CPU ms/req c=16 | TTFT p50 c=1 / 16 / 64 ms | ds p50 | errors |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const [name, s] of samples) {
    console.log(
      `| ${name} | ${fmt(median(s.docMs))} | ${fmt(median(s.docCpu), 3)} | ${
        fmt(median(s.doc16Ms))
      } | ${fmt(median(s.doc16Cpu), 3)} | ${fmt(median(s.ttft))} / ${fmt(median(s.ttft16))} / ${
        fmt(median(s.ttft64))
      } | ${fmt(median(s.ds))} | ${s.errors} |`,
    );
  }
  for (const t of targets) await stop(t.proc);
  await stop(mock);
}

if (import.meta.main) await main();
