/**
 * Fake embedding servers for the Library's tests, speaking the documented and recorded bytes of
 * docs/embeddings.md: LM Studio's `/v1/embeddings` (key order `object, data, model, usage`),
 * llama.cpp's (`model, object, usage, data` with `embedding, index, object`, headers as in
 * tests/fixtures/transcripts/llamacpp/13-embeddings.txt) and Ollama's `/api/embed`.
 *
 * Vectors are a deterministic bag-of-words hash (each word adds ±1 to one dimension, then the
 * vector is normalised): texts sharing words are near, so search quality can be tested for real.
 *
 * Faults (`set({ fault })` on a running fake):
 * - `rate_limit`: 429 with `retry-after: 0` (guessed body: OpenAI's rate-limit shape).
 * - `server_error`: 500 `{"error":{"code":500,"message":"internal error","type":"server_error"}}`
 *   (llama.cpp's error shape; the message is a guess).
 * - `no_pooling`: llama.cpp's recorded 400 "Pooling type 'none' is not OAI compatible".
 * - `not_loaded`: LM Studio's recorded 404 "No models loaded" (JIT loading off).
 * - `wrong_dimensions`: vectors of `dims + 16` dimensions.
 *
 * `GET /v1/models` answers (LM Studio family) with LM Studio's documented list shape
 * `{"data":[{"id","object":"model","owned_by":"organization_owner"}],"object":"list"}` (as
 * tests/fakes/lmstudio.ts), so the provider's status turns available while the fake is up.
 * `dimsByModel` gives some models their own vector size, as two real embedding models differ.
 * `failTimes` limits a fault to the next N requests (then the fake answers normally).
 * An input over `batchTokens` words gets llama.cpp's recorded 500 "input (N tokens) is too large".
 */

export type EmbeddingFamily = "lmstudio" | "llamacpp" | "ollama";
export type EmbeddingFault =
  | "none"
  | "rate_limit"
  | "server_error"
  | "no_pooling"
  | "not_loaded"
  | "wrong_dimensions";

/** Options of the fake. */
export interface FakeEmbeddingOptions {
  family?: EmbeddingFamily;
  dims?: number;
  model?: string;
  fault?: EmbeddingFault;
  failTimes?: number;
  /** Delay before each answer. */
  delayMs?: number;
  /** llama.cpp's physical batch, in (word) tokens. */
  batchTokens?: number;
  /** Vector sizes of particular models (others get `dims`). */
  dimsByModel?: Record<string, number>;
}

/** A running fake. */
export interface FakeEmbeddings {
  url: string;
  /** Inputs of every embeddings request, in arrival order. */
  requests: { path: string; model: string; input: string[] }[];
  set(options: Partial<FakeEmbeddingOptions>): void;
  /** Stops listening (connections are refused), as a crashed or stopped server. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): void;
  close(): Promise<void>;
}

/** The fake's vector for one text. */
export function fakeVector(text: string, dims: number): number[] {
  const v = new Array(dims).fill(0);
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let h = 2166136261;
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
    v[(h >>> 1) % dims] += h & 1 ? 1 : -1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

const LLAMA_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  Server: "llama.cpp",
  "Access-Control-Allow-Origin": "",
};

/** Starts a fake on 127.0.0.1, port chosen by the OS. */
export function startFakeEmbeddings(options: FakeEmbeddingOptions = {}): Promise<FakeEmbeddings> {
  const opts: Required<FakeEmbeddingOptions> = {
    family: "lmstudio",
    dims: 32,
    model: "text-embedding-nomic-embed-text-v1.5",
    fault: "none",
    failTimes: Infinity,
    delayMs: 0,
    batchTokens: 512,
    dimsByModel: {},
    ...options,
  };
  const requests: FakeEmbeddings["requests"] = [];
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: opts.family === "llamacpp"
        ? { ...LLAMA_HEADERS, ...headers }
        : { "Content-Type": "application/json; charset=utf-8", ...headers },
    });

  const handler = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    const isOllama = path === "/api/embed";
    if (req.method === "GET" && path === "/v1/models" && opts.family === "lmstudio") {
      const ids = [opts.model, ...Object.keys(opts.dimsByModel)];
      return json(200, {
        data: [...new Set(ids)].map((id) => ({
          id,
          object: "model",
          owned_by: "organization_owner",
        })),
        object: "list",
      });
    }
    if (path !== "/v1/embeddings" && !isOllama) {
      if (opts.family === "lmstudio") {
        // LM Studio: 200 with an error body on unknown routes (docs/embeddings.md).
        return json(200, { error: `Unexpected endpoint or method. (${req.method} ${path})` });
      }
      return json(404, {
        error: { code: 404, message: "File Not Found", type: "not_found_error" },
      });
    }
    const body = await req.json().catch(() => null) as { model?: string; input?: unknown } | null;
    const input = typeof body?.input === "string"
      ? [body.input]
      : Array.isArray(body?.input)
      ? body.input.map(String)
      : [];
    requests.push({ path, model: String(body?.model ?? ""), input });
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    let fault = opts.fault;
    if (fault !== "none") {
      if (opts.failTimes <= 0) fault = "none";
      else opts.failTimes--;
    }
    switch (fault) {
      case "rate_limit":
        return json(429, {
          error: { message: "Rate limit reached", type: "rate_limit_error", code: 429 },
        }, { "retry-after": "0" });
      case "server_error":
        return json(500, { error: { code: 500, message: "internal error", type: "server_error" } });
      case "no_pooling":
        return json(400, {
          error: {
            code: 400,
            message:
              "Pooling type 'none' is not OAI compatible. Please use a different pooling type",
            type: "invalid_request_error",
          },
        });
      case "not_loaded":
        return json(404, {
          error: {
            message:
              "No models loaded. Please load a model in the developer page or use the `lms load` command.",
            type: "invalid_request_error",
            param: "model",
            code: "model_not_found",
          },
        });
    }
    if (body?.input === undefined) {
      return json(400, {
        error: {
          code: 400,
          message: '"input" or "content" must be provided',
          type: "invalid_request_error",
        },
      });
    }
    if (input.length === 0) {
      return json(500, {
        error: { code: 500, message: '"prompt" must not be empty', type: "server_error" },
      });
    }
    const tokens = input.map((t) => (t.match(/\S+/g)?.length ?? 0) + 1);
    const longest = Math.max(...tokens);
    if (longest > opts.batchTokens) {
      return json(500, {
        error: {
          code: 500,
          message:
            `input (${longest} tokens) is too large to process. increase the physical batch size (current batch size: ${opts.batchTokens})`,
          type: "server_error",
        },
      });
    }
    const model = body?.model || opts.model;
    const size = opts.dimsByModel[model] ?? opts.dims;
    const dims = fault === "wrong_dimensions" ? size + 16 : size;
    const vectors = input.map((t) => fakeVector(t, dims));
    const total = tokens.reduce((a, b) => a + b, 0);
    if (isOllama) {
      return json(200, {
        model,
        embeddings: vectors,
        total_duration: 14143917,
        load_duration: 1019500,
        prompt_eval_count: total,
      });
    }
    if (opts.family === "llamacpp") {
      return json(200, {
        model,
        object: "list",
        usage: { prompt_tokens: total, total_tokens: total },
        data: vectors.map((embedding, index) => ({ embedding, index, object: "embedding" })),
      });
    }
    return json(200, {
      object: "list",
      data: vectors.map((embedding, index) => ({ object: "embedding", embedding, index })),
      model,
      usage: { prompt_tokens: total, total_tokens: total },
    });
  };

  const listen = (port: number) =>
    Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handler);
  let server = listen(0);
  const port = server.addr.port;
  let running = true;
  return Promise.resolve({
    url: `http://127.0.0.1:${port}`,
    requests,
    set(o) {
      Object.assign(opts, o);
      if (o.fault && o.failTimes === undefined) opts.failTimes = Infinity;
    },
    async down() {
      if (running) await server.shutdown();
      running = false;
    },
    up() {
      if (!running) server = listen(port);
      running = true;
    },
    close: async () => {
      if (running) await server.shutdown();
      running = false;
    },
  });
}
