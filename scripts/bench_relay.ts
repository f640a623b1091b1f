/**
 * The relay-capacity part of `deno task bench` alone, with every hop kind side by side: the bare
 * hop (native pipe), the JS relay hop (fetch, one read per upstream chunk), the raw JS hop (raw
 * socket upstream, one read per socket read) and, unless `--no-deepstudio`, deepstudio itself.
 * For quick A/B runs while working on the relay; `deno task bench` writes the report.
 * `--with-fetch` adds deepstudio with its streams on Deno's fetch (the before of the raw client).
 * Run: `deno run -A scripts/bench_relay.ts [--rounds N] [--frames N] [--no-deepstudio]
 * [--with-fetch]`.
 */
import { flatOut, type Target } from "./bench_runs.ts";
import { fmt, median, type Proc, spawn, stop } from "./bench_util.ts";
import { startTaskArgs } from "./bench.ts";

const PORT_LINE = /^\{"port":(\d+)\}/;
const arg = (name: string, dflt: number) => {
  const i = Deno.args.indexOf(name);
  return i === -1 ? dflt : Number(Deno.args[i + 1]);
};
const rounds = arg("--rounds", 6);
const frames = arg("--frames", 40_000);

async function startPort(args: string[]): Promise<Proc> {
  const p = await spawn(args, {}, PORT_LINE);
  return { ...p, url: `http://127.0.0.1:${p.url}` };
}

const mock = await startPort(["run", "--allow-net", "scripts/bench_upstream.ts"]);
const procs: Proc[] = [mock];
const targets: Target[] = [];
for (const mode of ["native", "js", "raw"]) {
  const p = await startPort(["run", "--allow-net", "scripts/bench_proxy.ts", mock.url, mode]);
  procs.push(p);
  const name = { native: "bare hop", js: "JS relay hop", raw: "raw JS hop" }[mode]!;
  targets.push({ name, url: p.url, pid: p.pid });
}
const variants: [string, Record<string, string>][] = Deno.args.includes("--no-deepstudio")
  ? []
  : [["deepstudio", {}]];
// deepstudio on Deno's fetch, as before lib/providers/http1_client.ts: with a proxy configured
// the raw client steps aside, and NO_PROXY lets fetch still go straight to the mock.
if (Deno.args.includes("--with-fetch")) {
  variants.push(["ds via fetch", { HTTP_PROXY: "http://127.0.0.1:9", NO_PROXY: "127.0.0.1" }]);
}
for (const [name, env] of variants) {
  const ds = await spawn(
    [...startTaskArgs(), "main.ts", "--port", "0", "--kv", ":memory:"],
    { LDR_LLM_LMSTUDIO_URL: mock.url, NO_COLOR: "1", ...env },
    /running at (http:\/\/[^/\s]+)\//,
  );
  procs.push(ds);
  targets.push({ name, url: ds.url, pid: ds.pid });
}
try {
  console.log(`load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  for (const streams of [1, 8]) {
    const row = await flatOut(targets, mock.url, {
      streams,
      frames,
      rounds,
      client: "raw socket",
    });
    const bare = median(row.framesPerS["bare hop"]);
    console.log(`×${streams}:`);
    for (const t of targets) {
      const fps = median(row.framesPerS[t.name]);
      console.log(
        `  ${t.name.padEnd(13)} ${fmt(fps, 0).padStart(7)} frames/s  ${
          fmt((fps / bare) * 100, 1).padStart(5)
        } % of bare  ${fmt(median(row.cpuUsPerFrame[t.name]), 2)} µs CPU/frame  ok ${
          row.ok[t.name]
        }`,
      );
    }
  }
  console.log(`load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
} finally {
  for (const p of procs) await stop(p);
}
