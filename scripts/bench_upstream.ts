/**
 * The benchmark's mock upstream: an OpenAI-compatible server that looks like LM Studio to
 * deepstudio (`/api/v1/models` with a loaded model) and streams exactly what each request asks in
 * a `bench` field of its body: `{id, deltas, intervalMs, promptMs, headerMs, bodyMs, created}`.
 * `intervalMs: 0` streams flat out, paced only by the reader (backpressure); `bodyMs` (non-stream
 * only) sends the headers at once and the JSON document that much later. Every target of the
 * benchmark gets the same framing: one write per SSE frame, built by {@link frame}, which the
 * client imports to know byte for byte what a stream must contain. It counts the frames it sends and
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
export interface BenchSpec {
  id: string;
  deltas: number;
  intervalMs: number;
  promptMs: number;
  headerMs: number;
  /** Non-stream: headers at once, the document after this many ms (0: all at once). */
  bodyMs: number;
  /** The `created` field of every chunk (so a client can predict the bytes). */
  created: number;
}

type Phase = "before-headers" | "prompt" | "streaming" | "body";

let framesSent = 0;
let usageFramesSent = 0;
let requests = 0;
/** Request ids by the wall-clock time their request arrived (kept until the log is read). */
let received: Record<string, number> = {};
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
    bodyMs: Number(b.bodyMs ?? 0),
    created: Number(b.created ?? Math.floor(Date.now() / 1000)),
  };
}

function chunk(id: string, created: number, delta: string, extra = ""): string {
  return `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":"${MODEL}","system_fingerprint":"${MODEL}","choices":[${delta}]${extra}}\n\n`;
}

/**
 * Frame `i` of a stream, exactly as sent: -1 the role chunk, 0..deltas-1 content, `deltas` the
 * finish chunk, `deltas + 1` the usage-only chunk (sent only when asked), `deltas + 2` `[DONE]`.
 */
export function frame(s: Pick<BenchSpec, "id" | "deltas" | "created">, i: number): string {
  const cid = `chatcmpl-${s.id}`;
  if (i === -1) {
    return chunk(cid, s.created, '{"index":0,"delta":{"role":"assistant"},"finish_reason":null}');
  }
  if (i < s.deltas) {
    return chunk(
      cid,
      s.created,
      `{"index":0,"delta":{"content":" tok${i}"},"finish_reason":null}`,
    );
  }
  if (i === s.deltas) return chunk(cid, s.created, '{"index":0,"delta":{},"finish_reason":"stop"}');
  if (i === s.deltas + 1) {
    return chunk(
      cid,
      s.created,
      "",
      `,"usage":{"prompt_tokens":5,"completion_tokens":${s.deltas},"total_tokens":${5 + s.deltas}}`,
    );
  }
  return "data: [DONE]\n\n";
}

/** The non-streamed answer's JSON text, exactly as sent. */
export function documentText(s: Pick<BenchSpec, "id" | "deltas" | "created">): string {
  const text = Array.from({ length: s.deltas }, (_, i) => ` tok${i}`).join("");
  return JSON.stringify({
    id: `chatcmpl-${s.id}`,
    object: "chat.completion",
    created: s.created,
    model: MODEL,
    choices: [{
      index: 0,
      message: { role: "assistant", content: text },
      finish_reason: "stop",
    }],
    usage: { prompt_tokens: 5, completion_tokens: s.deltas, total_tokens: 5 + s.deltas },
  });
}

function noteAbort(id: string, phase: Phase): void {
  aborts[id] ??= { at: wallNow(), phase };
}

async function chat(req: Request): Promise<Response> {
  requests++;
  const body = await req.json() as Record<string, unknown>;
  const s = spec(body);
  received[s.id] = wallNow();
  const onAbort = () => noteAbort(s.id, "before-headers");
  req.signal.addEventListener("abort", onAbort, { once: true });
  if (!(await sleep(s.headerMs, req.signal))) return new Response(null, { status: 499 });
  if (body.stream !== true) {
    if (!(await sleep(s.promptMs, req.signal))) return new Response(null, { status: 499 });
    req.signal.removeEventListener("abort", onAbort);
    const doc = encoder.encode(documentText(s));
    const headers = { "content-type": "application/json" };
    if (s.bodyMs <= 0) return new Response(doc, { headers });
    // Headers now, the document later: the relay is then inside its body read.
    const onBody = () => noteAbort(s.id, "body");
    req.signal.addEventListener("abort", onBody, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          timer = setTimeout(() => {
            req.signal.removeEventListener("abort", onBody);
            c.enqueue(doc);
            c.close();
          }, s.bodyMs);
        },
        cancel() {
          clearTimeout(timer);
          onBody();
        },
      }),
      { headers },
    );
  }
  req.signal.removeEventListener("abort", onAbort);
  const usage = (body.stream_options as { include_usage?: boolean } | undefined)
    ?.include_usage === true;
  let i = -1; // -1: the role chunk
  let phase: Phase = "prompt";
  const gone = new AbortController();
  const onGone = () => {
    noteAbort(s.id, phase);
    gone.abort();
  };
  req.signal.addEventListener("abort", onGone, { once: true });
  const send = (c: ReadableStreamDefaultController<Uint8Array>, n: number) => {
    framesSent++;
    c.enqueue(encoder.encode(frame(s, n)));
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i === -1) {
        if (!(await sleep(s.promptMs, gone.signal))) return;
        phase = "streaming";
      } else if (i > 0 && i < s.deltas && s.intervalMs > 0) {
        if (!(await sleep(s.intervalMs, gone.signal))) return;
      }
      if (i < s.deltas) send(c, i);
      else {
        send(c, s.deltas);
        if (usage) {
          send(c, s.deltas + 1);
          usageFramesSent++;
        }
        send(c, s.deltas + 2);
      }
      i++;
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

function serve(): Deno.HttpServer {
  return Deno.serve({
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
      const out = { framesSent, usageFramesSent, requests, aborts, received };
      framesSent = 0;
      usageFramesSent = 0;
      requests = 0;
      received = {};
      aborts = {};
      return Response.json(out);
    }
    return Response.json({ error: `Unexpected endpoint or method. (${req.method} ${path})` });
  });
}

if (import.meta.main) {
  const server = serve();
  Deno.addSignalListener("SIGTERM", () => server.shutdown());
}
