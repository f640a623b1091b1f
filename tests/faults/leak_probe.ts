/**
 * Run by leak_test.ts as `deno run --v8-flags=--expose-gc`: opens and finishes `n` research event
 * streams against one app-long shutdown signal, each reader holding ~100 KB through an abort
 * listener on the signal it is given (as routes/research.ts does), then prints the heap growth
 * after a full GC as JSON. A leak per stream shows as megabytes; none shows as ~0.
 */
import type { RunEvent } from "../../lib/research/schema.ts";
import { sseStream } from "../../lib/research/sse.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const n = Number(Deno.args[0] ?? 200);
const shutdown = new AbortController();
const EVENT: RunEvent = { seq: 1, type: "done", data: { status: "completed" }, at: 0 };

async function once() {
  const body = sseStream((signal) => {
    const held = new Array(25_000).fill(1);
    signal.addEventListener("abort", () => held.length, { once: true });
    return (async function* () {
      yield EVENT;
    })();
  }, { heartbeatMs: 60_000, shutdown: shutdown.signal });
  await new Response(body).text();
}

async function heap() {
  await new Promise((r) => setTimeout(r, 10));
  gc!();
  gc!();
  return Deno.memoryUsage().heapUsed;
}

await once();
const before = await heap();
for (let i = 0; i < n; i++) await once();
const after = await heap();
console.log(JSON.stringify({ n, growthBytes: after - before }));
