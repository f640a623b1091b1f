/**
 * The benchmark's mock upstream: an OpenAI-compatible server that looks like LM Studio to
 * deepstudio (`/api/v1/models` with a loaded model) and streams exactly what each request asks in
 * a `bench` field of its body: `{id, deltas, intervalMs, promptMs, headerMs}`. `intervalMs: 0`
 * streams flat out, paced only by the reader (backpressure). It counts the frames it sends and
 * notes, per request id, when and in which phase the client went away, in wall-clock ms with
 * sub-ms precision (`performance.timeOrigin + performance.now()`), comparable across processes.
 *
 * Run: `deno run --allow-net scripts/bench_upstream.ts` → prints `{"port":N}` on its first line.
 * Control: `GET /_bench/log` returns and resets the counters and the abort log.
 * Standalone on purpose: it imports nothing from lib/, so it measures nothing of deepstudio's.
 */

const MODEL = "bench-model";
const CONTEXT = 32768;
const encoder = new TextEncoder();

/** What a request can ask of the mock. */
interface BenchSpec {
  id: string;
  deltas: number;
  intervalMs: number;
  promptMs: number;
  headerMs: number;
}

type Phase = "before-headers" | "prompt" | "streaming";

let framesSent = 0;
let usageFramesSent = 0;
let requests = 0;
let aborts: Record<string, { at: number; phase: Phase }> = {};

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!signal?.aborted);
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function spec(body: Record<string, unknown>): BenchSpec {
  const b = (body.bench ?? {}) as Partial<BenchSpec>;
  return {
    id: String(b.id ?? crypto.randomUUID()),
    deltas: Number(b.deltas ?? 10),
    intervalMs: Number(b.intervalMs ?? 10),
    promptMs: Number(b.promptMs ?? 0),
    headerMs: Number(b.headerMs ?? 0),
  };
}

function chunk(id: string, created: number, delta: string, extra = ""): string {
  return `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":"${MODEL}","system_fingerprint":"${MODEL}","choices":[${delta}]${extra}}\n\n`;
}

function noteAbort(id: string, phase: Phase): void {
  aborts[id] ??= { at: wallNow(), phase };
}

async function chat(req: Request): Promise<Response> {
  requests++;
  const body = await req.json() as Record<string, unknown>;
  const s = spec(body);
  const onAbort = () => noteAbort(s.id, "before-headers");
  req.signal.addEventListener("abort", onAbort, { once: true });
  if (!(await sleep(s.headerMs, req.signal))) return new Response(null, { status: 499 });
  const created = Math.floor(Date.now() / 1000);
  const cid = `chatcmpl-${s.id}`;
  if (body.stream !== true) {
    if (!(await sleep(s.promptMs, req.signal))) return new Response(null, { status: 499 });
    req.signal.removeEventListener("abort", onAbort);
    const text = Array.from({ length: s.deltas }, (_, i) => ` tok${i}`).join("");
    return Response.json({
      id: cid,
      object: "chat.completion",
      created,
      model: MODEL,
      choices: [{
        index: 0,
        message: { role: "assistant", content: text },
        finish_reason: "stop",
      }],
      usage: { prompt_tokens: 5, completion_tokens: s.deltas, total_tokens: 5 + s.deltas },
    });
  }
  req.signal.removeEventListener("abort", onAbort);
  const usage = (body.stream_options as { include_usage?: boolean } | undefined)
    ?.include_usage === true;
  const frames: string[] = [];
  let i = -1; // -1: the role chunk
  let phase: Phase = "prompt";
  const gone = new AbortController();
  const onGone = () => {
    noteAbort(s.id, phase);
    gone.abort();
  };
  req.signal.addEventListener("abort", onGone, { once: true });
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i === -1) {
        if (!(await sleep(s.promptMs, gone.signal))) return;
        phase = "streaming";
        frames.push(
          chunk(cid, created, '{"index":0,"delta":{"role":"assistant"},"finish_reason":null}'),
        );
      } else if (i < s.deltas) {
        if (i > 0 && !(await sleep(s.intervalMs, gone.signal))) return;
        frames.push(
          chunk(cid, created, `{"index":0,"delta":{"content":" tok${i}"},"finish_reason":null}`),
        );
      } else {
        frames.push(chunk(cid, created, '{"index":0,"delta":{},"finish_reason":"stop"}'));
        if (usage) {
          frames.push(chunk(
            cid,
            created,
            "",
            `,"usage":{"prompt_tokens":5,"completion_tokens":${s.deltas},"total_tokens":${
              5 + s.deltas
            }}`,
          ));
          usageFramesSent++;
        }
        frames.push("data: [DONE]\n\n");
      }
      i++;
      for (const f of frames) {
        framesSent++;
        c.enqueue(encoder.encode(f));
      }
      frames.length = 0;
      if (i > s.deltas) {
        req.signal.removeEventListener("abort", onGone);
        c.close();
      }
    },
    cancel() {
      onGone();
    },
  }, { highWaterMark: 0 });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

const V1_MODELS = {
  models: [{
    type: "llm",
    publisher: "bench",
    key: MODEL,
    display_name: "Bench model",
    quantization: { name: "Q4_K_M", bits_per_weight: 4 },
    size_bytes: 1,
    params_string: "1B",
    loaded_instances: [{ id: MODEL, config: { context_length: CONTEXT } }],
    max_context_length: CONTEXT,
    format: "gguf",
  }],
};

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, (req) => {
  const path = new URL(req.url).pathname;
  if (req.method === "POST" && path === "/v1/chat/completions") return chat(req);
  if (path === "/api/v1/models") return Response.json(V1_MODELS);
  if (path === "/v1/models") {
    return Response.json({
      object: "list",
      data: [{ id: MODEL, object: "model", owned_by: "bench" }],
    });
  }
  if (path === "/lmstudio-greeting") return Response.json({ lmstudio: true });
  if (path === "/_bench/log") {
    const out = { framesSent, usageFramesSent, requests, aborts };
    framesSent = 0;
    usageFramesSent = 0;
    requests = 0;
    aborts = {};
    return Response.json(out);
  }
  return Response.json({ error: `Unexpected endpoint or method. (${req.method} ${path})` });
});

Deno.addSignalListener("SIGTERM", () => server.shutdown());
