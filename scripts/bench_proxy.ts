/**
 * The benchmark's reference hops: the least a Deno proxy can do.
 * - `native` (default): read the body, fetch upstream, hand the upstream body to the response so
 *   Deno pipes it natively (no JavaScript per chunk).
 * - `js`: the same, but the body goes through JavaScript the way a relay that must see the bytes
 *   does (idle timeout, usage stripping): a BYOB read into one buffer, a copy, an enqueue, nothing
 *   else. "deepstudio − js" is what deepstudio's own per-chunk logic costs, "js − native" what
 *   touching every chunk in JavaScript costs on Deno.
 * Neither has any of the gateway's work (no idle timeout, no error mapping, no usage stripping, no
 * abort bookkeeping beyond the signal).
 * Run: `deno run --allow-net scripts/bench_proxy.ts <upstream origin> [native|js]`.
 */
const upstream = Deno.args[0];
const mode = Deno.args[1] ?? "native";

function jsBody(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader({ mode: "byob" });
  let buffer = new Uint8Array(4096);
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await reader.read(buffer);
      if (r.done || !r.value) return c.close();
      c.enqueue(r.value.slice());
      buffer = new Uint8Array(r.value.buffer);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 8 });
}

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, async (req) => {
  const res = await fetch(`${upstream}${new URL(req.url).pathname}`, {
    method: req.method,
    headers: { "content-type": "application/json" },
    body: req.method === "POST" ? await req.text() : undefined,
    signal: req.signal,
  });
  const body = mode === "js" && res.body ? jsBody(res.body) : res.body;
  return new Response(body, {
    status: res.status,
    headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
  });
});

// Exit cleanly on SIGTERM so a `--cpu-prof` run writes its profile.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
