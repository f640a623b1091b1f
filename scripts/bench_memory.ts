/**
 * Where deepstudio's idle memory goes: a fresh `deno run` imports the start-up graph one layer at
 * a time (packages first, then deepstudio's modules in dependency order) and reports its RSS
 * after each, against an empty script. Deltas of one process's RSS are only approximate (the
 * first JIT compilations and helper threads land wherever they happen), so each row is the median
 * of a few runs. Repeat by hand: `deno run -A scripts/bench_memory.ts`.
 */
import { median, ROOT } from "./bench_util.ts";

/** The layers, cumulative: each row imports everything above it too. */
export const LAYERS = [
  // hono's base with its TrieRouter (routes/hono.ts), not hono's default export.
  "./routes/hono.ts",
  // The settings schema is plain data with a plain validator (lib/settings/check.ts): no zod at
  // start-up; classic zod loads with the first route that needs it.
  "./lib/settings/schema.ts",
  "./lib/settings/store.ts",
  "./routes/security.ts",
  "./routes/gateway.ts",
  // The rest of app.ts: every other /api route file, the pages and the research code are
  // declared there and load on first request (routes/lazy.ts).
  "./app.ts",
  // What main.ts does next, as code: the rows name it.
  "code:const kv = await Deno.openKv(':memory:')",
  "code:const app = (await import(APP)).createApp({ kv })",
  "code:const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, app.fetch)",
  // The first request through the server, and with it Deno's first fetch client (the bare hop
  // pays that one too). No setTimeout on the way: lib/timer.ts.
  "code:await (await fetch(`http://127.0.0.1:${server.addr.port}/api/health`)).text()",
];

export interface MemoryLayer {
  layer: string;
  /** RSS after importing this layer (and all above it), MB. */
  rssMb: number;
  /** Added by this layer, MB. */
  deltaMb: number;
  /** CPU time of the process (all threads) after this layer, ms. */
  cpuMs: number;
  /** CPU time this layer took (loading, compiling and evaluating its modules), ms. */
  deltaCpuMs: number;
}

async function once(layers: string[]): Promise<[number, number][]> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  const lines = [
    "const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(Deno.readTextFileSync('/proc/self/status'))![1]) / 1024;",
    // CPU of every thread in ns (/proc/<pid>/task/*/schedstat): unlike wall time, other
    // processes on the machine do not inflate it.
    "const cpu = () => { let ns = 0; for (const t of Deno.readDirSync('/proc/self/task')) ns += Number(Deno.readTextFileSync(`/proc/self/task/${t.name}/schedstat`).split(' ')[0]); return ns / 1e6; };",
    "const out = [[rss(), cpu()]];",
    `const APP = ${JSON.stringify(new URL("app.ts", ROOT).href)};`,
    ...layers.map((l) =>
      l.startsWith("code:")
        ? `${l.slice(5)}; out.push([rss(), cpu()]);`
        : `await import(${
          JSON.stringify(l.startsWith(".") ? new URL(l, ROOT).href : l)
        }); out.push([rss(), cpu()]);`
    ),
    "console.log(JSON.stringify(out));",
    "Deno.exit(0);",
  ];
  await Deno.writeTextFile(file, lines.join("\n"));
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", new URL("deno.json", ROOT).pathname, file],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).slice(0, 500));
    return JSON.parse(text) as [number, number][];
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Median RSS and CPU per layer over `runs` fresh processes; row 0 is the empty script. */
export async function memoryLayers(runs = 3): Promise<MemoryLayer[]> {
  const all: [number, number][][] = [];
  for (let i = 0; i < runs; i++) all.push(await once(LAYERS));
  const med = (k: 0 | 1) => all[0].map((_, i) => median(all.map((r) => r[i][k])));
  const rss = med(0);
  const cpu = med(1);
  return ["(empty script)", ...LAYERS].map((layer, i) => ({
    layer: layer.replace(/^code:/, ""),
    rssMb: rss[i],
    deltaMb: i === 0 ? rss[0] : rss[i] - rss[i - 1],
    cpuMs: cpu[i],
    deltaCpuMs: i === 0 ? cpu[0] : cpu[i] - cpu[i - 1],
  }));
}

if (import.meta.main) {
  for (const l of await memoryLayers()) {
    console.log(
      `${l.layer.padEnd(28)} ${l.rssMb.toFixed(1).padStart(6)} MB  +${l.deltaMb.toFixed(1)}  ${
        l.cpuMs.toFixed(1).padStart(6)
      } ms CPU  +${l.deltaCpuMs.toFixed(1)}`,
    );
  }
}
