/**
 * CPU profile of one deepstudio checkout answering non-streamed requests at c=16 (the workload of
 * `deno task bench`'s non-stream profile), summarised with scripts/bench_profile.ts, to see what
 * one change did to the per-request cost.
 *
 *   deno run -A scripts/bench_ab_profile.ts <dir> [--n 2000] [--top 25]
 */
import { documentOnce } from "./bench_client.ts";
import { readProfile, summarize } from "./bench_profile.ts";
import { cpuSeconds, fmt, loadAverage, spawn, stop } from "./bench_util.ts";
import { startDs } from "./bench_ab.ts";

const PORT_LINE = /^\{"port":(\d+)\}/;
const arg = (name: string, fallback: number) => {
  const i = Deno.args.indexOf(name);
  return i === -1 ? fallback : Number(Deno.args[i + 1]);
};

async function work(url: string, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      next++;
      const r = await documentOnce(url, { deltas: 10, intervalMs: 0, promptMs: 0 });
      if (!r.ok) throw new Error(r.error);
    }
  }));
}

if (import.meta.main) {
  const dir = Deno.args[0];
  const n = arg("--n", 2000);
  const mock = await spawn(["run", "--allow-net", "scripts/bench_upstream.ts"], {}, PORT_LINE);
  const prof = await Deno.makeTempDir({ prefix: "ab-prof-" });
  const spawned = performance.now();
  const ds = await startDs(dir, `http://127.0.0.1:${mock.url}`, [
    "--cpu-prof",
    `--cpu-prof-dir=${prof}`,
  ]);
  await work(ds.url, n);
  const cpu0 = cpuSeconds(ds.pid);
  const fromMs = performance.now() - spawned;
  await work(ds.url, n);
  const toMs = performance.now() - spawned;
  const cpu = cpuSeconds(ds.pid) - cpu0;
  await stop(ds);
  await stop(mock);
  const s = summarize(await readProfile(prof), arg("--top", 25), { fromMs, toMs });
  console.log(
    `load ${loadAverage().map((x) => fmt(x)).join(" / ")}; process CPU ${
      fmt(cpu * 1000 / n, 3)
    } ms/request; profiled busy ${fmt(s.busyMs)} ms = ${fmt(s.busyMs * 1000 / n)} µs/request`,
  );
  for (const a of s.areas) console.log(`  ${a.area}: ${fmt(a.ms)} ms`);
  for (const f of s.functions) {
    console.log(`  ${fmt(f.ms, 1).padStart(6)} ms  ${f.name}  ${f.where}  (${f.area})`);
  }
  await Deno.remove(prof, { recursive: true });
}
