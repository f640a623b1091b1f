/**
 * The benchmark's reference hop: the least a Deno proxy can do (read the body, fetch upstream, hand
 * the upstream body to the response so Deno pipes it natively). It has none of the gateway's work
 * (no idle timeout, no error mapping, no usage stripping, no abort bookkeeping beyond the signal),
 * so "gateway − this" is what deepstudio itself costs, and "this − direct" what any extra process
 * hop on the machine costs. Run: `deno run --allow-net scripts/bench_proxy.ts <upstream origin>`.
 */
const upstream = Deno.args[0];

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
  return new Response(res.body, {
    status: res.status,
    headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
  });
});
