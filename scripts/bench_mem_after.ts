/**
 * Where RSS goes after a burst of c=256 streams, for one deepstudio process started as
 * `deno task start` does: idle (40 warm-up streams), 1280 streams at c=256 from a client of its
 * own (`Deno.createHttpClient`), RSS by kind 10 s later, and again once that client has closed
 * its keep-alive connections (what Deno.serve holds for them). Extra `NAME=value` arguments go
 * into the server's environment (an allocator via LD_PRELOAD, say: docs/decisions/
 * memory-targets.md).
 *
 *   deno run -A scripts/bench_mem_after.ts [NAME=value ...]
 */
import { chatBody } from "./bench_client.ts";
import { cpuSeconds, memoryParts, rssKb, sleep, spawn, stop } from "./bench_util.ts";
import { runFlags } from "./bench_ab.ts";
import { load, specFor } from "./bench_runs.ts";
const extra = Object.fromEntries(
  Deno.args.map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]),
);
const mock = await spawn(
  ["run", "--allow-net", "scripts/bench_upstream.ts"],
  {},
  /^\{"port":(\d+)\}/,
);
const run = runFlags(".");
const t0 = performance.now();
const p = await spawn([...run.args, "main.ts", "--port", "0", "--kv", ":memory:"], {
  ...run.env,
  ...extra,
  LDR_LLM_LMSTUDIO_URL: `http://127.0.0.1:${mock.url}`,
  NO_COLOR: "1",
}, /running at (http:\/\/[^/\s]+)\//);
const listen = performance.now() - t0;
const out: string[] = [`listen ${listen.toFixed(0)} ms`];
const show = (l: string) => {
  const m = memoryParts(p.pid);
  out.push(
    `${l} ${(rssKb(p.pid) / 1024).toFixed(1)} heap ${(m.mallocHeap / 1024).toFixed(1)} anon ${
      (m.anonymous / 1024).toFixed(1)
    } exe ${(m.executable / 1024).toFixed(1)}`,
  );
};
await load(p.url, 4, 40, specFor(4), false);
await sleep(2000);
show("idle");
const client = Deno.createHttpClient({});
let next = 0;
const c0 = cpuSeconds(p.pid);
await Promise.all(Array.from({ length: 256 }, async () => {
  while (next++ < 1280) {
    const r = await fetch(`${p.url}/v1/chat/completions`, {
      method: "POST",
      client,
      headers: { "content-type": "application/json" },
      body: chatBody(specFor(256), { stream: true, usage: false }),
    });
    await r.arrayBuffer();
  }
}));
out.push(`load cpu ${(cpuSeconds(p.pid) - c0).toFixed(2)} s`);
await sleep(10000);
show("+10s");
client.close();
await sleep(3000);
show("+13s closed");
console.log(JSON.stringify(Deno.args), out.join(" | "));
await stop(p);
await stop(mock);
