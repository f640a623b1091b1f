/**
 * The Library bench's embedding server: LM Studio's `/v1/embeddings` and `/v1/models` shapes
 * (docs/embeddings.md: `{"object":"list","data":[{"object":"embedding","embedding":[…],"index"}],
 * "model","usage"}`), answering as a fast GPU would: `perInputMs` of "compute" per input (the
 * first argument, default 0.3 ms ≈ 3 300 chunks/s), then deterministic vectors of `dims` (the
 * second argument, default 768). It keeps the inputs of every request, so the bench can replay
 * exactly the same calls without deepstudio in between.
 *
 * Run: `deno run --allow-net scripts/bench_embed_server.ts [perInputMs] [dims]` → prints
 * `{"port":N}`. Control: `GET /_bench/requests` returns the inputs seen and forgets them;
 * `GET /_bench/occupancy` returns `{"ms":[…],"firstIn","lastOut"}`: how long (ms) 0, 1, 2, …
 * embedding requests were in the server since the last call (from the first request on), and the
 * wall-clock times of the first request and the last answer; then it starts over. Time with fewer
 * requests in than the client keeps in flight is time the server waited on its client.
 * Standalone on purpose: it imports nothing from lib/, so it measures nothing of deepstudio's.
 */

const perInputMs = Number(Deno.args[0] ?? 0.3);
const dims = Number(Deno.args[1] ?? 768);
const MODEL = "text-embedding-nomic-embed-text-v1.5";
let seen: string[][] = [];
let inside = 0;
let since = -1;
let occupancy: number[] = [];
/** Wall-clock ms (comparable across processes) of the first request in and the last answer out. */
let firstIn = NaN;
let lastOut = NaN;
const wall = () => performance.timeOrigin + performance.now();
/** Accounts the time since the last change to the current number of requests inside. */
function occupy(delta: number) {
  const now = performance.now();
  if (since >= 0) occupancy[inside] = (occupancy[inside] ?? 0) + now - since;
  since = now;
  inside += delta;
}

function vector(text: string): number[] {
  const v = new Array(dims);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  for (let j = 0; j < dims; j++) {
    h = Math.imul(h ^ j, 16777619);
    v[j] = ((h >>> 8) / 16777216) - 0.5;
  }
  return v;
}

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/_bench/requests") {
    const out = seen;
    seen = [];
    return Response.json(out);
  }
  if (path === "/_bench/occupancy") {
    occupy(0);
    const out = { ms: Array.from(occupancy, (ms) => ms ?? 0), firstIn, lastOut };
    occupancy = [];
    since = -1;
    firstIn = lastOut = NaN;
    return Response.json(out);
  }
  if (req.method === "GET" && path === "/v1/models") {
    return Response.json({
      data: [{ id: MODEL, object: "model", owned_by: "organization_owner" }],
      object: "list",
    });
  }
  if (req.method !== "POST" || path !== "/v1/embeddings") {
    return Response.json({ error: `Unexpected endpoint or method. (${req.method} ${path})` });
  }
  if (since < 0) since = performance.now();
  if (Number.isNaN(firstIn)) firstIn = wall();
  occupy(1);
  try {
    return await embed(req);
  } finally {
    occupy(-1);
    lastOut = wall();
  }
});

async function embed(req: Request): Promise<Response> {
  const body = await req.json() as { model?: string; input: string | string[] };
  const input = typeof body.input === "string" ? [body.input] : body.input;
  seen.push(input);
  await new Promise((r) => setTimeout(r, perInputMs * input.length));
  return Response.json({
    object: "list",
    data: input.map((t, index) => ({ object: "embedding", embedding: vector(t), index })),
    model: body.model ?? MODEL,
    usage: { prompt_tokens: 0, total_tokens: 0 },
  });
}
console.log(JSON.stringify({ port: server.addr.port }));
