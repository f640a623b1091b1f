/**
 * A/B of the time to first token of a lone stream (c=1) at `deno task bench`'s cadence (a frame
 * every 5 ms: the process idles between frames, and a lone request pays for that), for changes
 * of a tenth of a millisecond that scripts/bench_ab.ts's long rounds cannot resolve on a shared
 * machine: the bare hop and two deepstudio checkouts take turns in short blocks (10 streams
 * each, rotating order), so load that comes and goes hits all three alike. Prints each target's
 * TTFT over the bare hop at p10/p25/p50/p75, the median of the per-block differences, and B
 * against A block by block.
 *
 *   deno run -A scripts/bench_ab_c1.ts <dir A> <dir B> [--blocks 60] [--k 10]
 *
 * Each dir is a deepstudio checkout with its static/build (`deno task build`) done. Loopback
 * only, bounded loops.
 */
import { streamOnce } from "./bench_client.ts";
import { fmt, loadAverage, median, percentile, spawn, stop } from "./bench_util.ts";
import { startDs } from "./bench_ab.ts";
import { specFor } from "./bench_runs.ts";

const PORT_LINE = /^\{"port":(\d+)\}/;

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i === -1 ? fallback : Number(Deno.args[i + 1]);
}

async function main() {
  const [dirA, dirB] = Deno.args;
  const blocks = flag("--blocks", 60);
  const k = flag("--k", 10);
  const mock = await spawn(["run", "--allow-net", "scripts/bench_upstream.ts"], {}, PORT_LINE);
  const mockUrl = `http://127.0.0.1:${mock.url}`;
  const hop = await spawn(
    ["run", "--allow-net", "scripts/bench_proxy.ts", mockUrl, "native"],
    {},
    PORT_LINE,
  );
  const targets = [
    { name: "bare hop", proc: { ...hop, url: `http://127.0.0.1:${hop.url}` } },
    { name: "A", proc: await startDs(dirA, mockUrl) },
    { name: "B", proc: await startDs(dirB, mockUrl) },
  ];
  const spec = specFor(1);
  // The same warm-up for every target.
  for (const t of targets) {
    for (let i = 0; i < 200; i++) await streamOnce(t.proc.url, { ...spec, intervalMs: 0 }, false);
  }
  const all = new Map(targets.map((t) => [t.name, [] as number[]]));
  const byBlock = new Map(targets.map((t) => [t.name, [] as number[]]));
  const ds = new Map(targets.map((t) => [t.name, [] as number[]]));
  let errors = 0;
  const load0 = loadAverage();
  for (let b = 0; b < blocks; b++) {
    const order = targets.map((_, i) => targets[(i + b) % targets.length]);
    if (b % 2) order.reverse();
    for (const t of order) {
      const ttft: number[] = [];
      for (let i = 0; i < k; i++) {
        const r = await streamOnce(t.proc.url, spec, false);
        if (!r.ok) errors++;
        ttft.push(r.ttft);
        if (!Number.isNaN(r.ds)) ds.get(t.name)!.push(r.ds);
      }
      all.get(t.name)!.push(...ttft);
      byBlock.get(t.name)!.push(median(ttft));
    }
  }
  const load1 = loadAverage();
  console.log(
    `c=1, ${blocks} blocks of ${k} streams; load before ${
      load0.map((x) => fmt(x)).join(" / ")
    }, after ${load1.map((x) => fmt(x)).join(" / ")}; errors ${errors}; A=${dirA} B=${dirB}`,
  );
  console.log(
    "| target | TTFT p50 ms | over the bare hop p10 / p25 / p50 / p75 | block median | ds p50 |",
  );
  console.log("|---|---|---|---|---|");
  const hopAll = all.get("bare hop")!;
  const hopBlocks = byBlock.get("bare hop")!;
  for (const t of targets) {
    const v = all.get(t.name)!;
    const over = [10, 25, 50, 75].map((p) => fmt(percentile(v, p) - percentile(hopAll, p)));
    const blockDiff = median(byBlock.get(t.name)!.map((x, i) => x - hopBlocks[i]));
    console.log(
      `| ${t.name} | ${fmt(median(v))} | ${over.join(" / ")} | ${fmt(blockDiff)} | ${
        fmt(median(ds.get(t.name)!))
      } |`,
    );
  }
  const a = byBlock.get("A")!;
  const diffs = byBlock.get("B")!.map((x, i) => x - a[i]);
  console.log(
    `B − A, median of the block differences: ${fmt(median(diffs), 3)} ms; B faster in ${
      diffs.filter((x) => x < 0).length
    } of ${diffs.length} blocks`,
  );
  for (const t of targets) await stop(t.proc);
  await stop(mock);
}

if (import.meta.main) await main();
