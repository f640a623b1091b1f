/**
 * Runs a checkout's main.ts (env `MAIN`, a file URL) in this process and serves, on 127.0.0.1
 * port `SIDE_PORT`, what scripts/bench_mem_split.ts reads: `GET /` a full GC (the process must
 * run with `--expose-gc`) and then `Deno.memoryUsage()`, `GET /snap?f=<path>` a heap snapshot
 * (node:v8) written to that path. For measuring only: never part of `deno task start`.
 */
import { writeHeapSnapshot } from "node:v8";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("mem_probe.ts needs --v8-flags=--expose-gc");
const collect = async () => {
  for (let i = 0; i < 3; i++) gc();
  await new Promise((r) => setTimeout(r, 50)); // let finalizers and weak callbacks run
  gc();
};
Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("SIDE_PORT")),
  onListen() {},
}, async (req) => {
  const url = new URL(req.url);
  await collect();
  if (url.pathname === "/snap") return new Response(writeHeapSnapshot(url.searchParams.get("f")!));
  return Response.json(Deno.memoryUsage());
});
await import(Deno.env.get("MAIN")!);
