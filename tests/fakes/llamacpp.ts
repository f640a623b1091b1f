/**
 * A fake llama.cpp `llama-server` for tests, replaying the formats recorded in
 * `tests/fixtures/transcripts/llamacpp/` (build b9153): real HTTP on 127.0.0.1, port 0. Every
 * recorded request is replayed against this fake by tests/providers/replay_test.ts; answers no
 * recording shows are marked "guess" below.
 *
 * Routes (JSON answers are `content-type: application/json; charset=utf-8` with an empty
 * `Access-Control-Allow-Origin`, as recorded):
 * - `GET /health` → `{"status":"ok"}`, or 503 `{"error":{"message":"Loading model","type":"unavailable_error","code":503}}`
 *   while `loading` (every other route answers that 503 too).
 * - `GET /v1/models` (and `/models`) → the odd double list: an Ollama-style `"models"` array plus
 *   the OpenAI `"data"` array whose entries carry `meta.n_ctx` / `meta.n_ctx_train`. Open even
 *   with `apiKey` set (recorded in 11-api-key).
 * - `POST /v1/chat/completions`: single-model mode (any requested `model`, or none, is answered by
 *   `modelId`); non-stream bodies with `timings`; SSE with a `{"role":"assistant","content":null}`
 *   first chunk, content chunks, a final empty delta with `finish_reason` carrying `timings`, a
 *   usage chunk (empty `choices`, `usage` + `timings`) only with `stream_options.include_usage`,
 *   and `data: [DONE]\n\n`. A prompt of `n_ctx` tokens or more (≈ 4 characters a token + 4 per
 *   message) → 400 `exceed_context_size_error` with `n_prompt_tokens` and `n_ctx`, as plain JSON
 *   even for streams. Malformed JSON → 500 parse error; no `messages` → 400.
 * - With `apiKey` set, chat needs `Authorization: Bearer <key>`, else 401
 *   `{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}`.
 * - Anything else → 404 `{"error":{"message":"File Not Found","type":"not_found_error","code":404}}`
 *   (`/lmstudio-greeting` and `/api/v0/models` included: that is how LM Studio is told apart).
 *
 * Options (`set()` changes them on a running fake): `modelId` ("tiny-random"), `nCtx` (256),
 * `nCtxTrain` (4096), `apiKey` (null), `loading` (false), `reply`, `finishReason` ("length"),
 * `headerDelayMs`, `promptDelayMs`, `tokenDelayMs` (0), and `fault`:
 * - `{kind: "context-exceeded-frame", afterTokens}`: mid-stream
 *   `data: {"error":{"code":500,"message":"Context size has been exceeded.","type":"server_error"}}`
 *   and no `[DONE]` (07-concurrency); non-stream requests get it as a 500 body.
 * - `{kind: "hang", afterTokens}` / `{kind: "reset", afterTokens}`: stop sending / kill the body.
 *
 * Recording is the same as the LM Studio fake's (`requests`, `aborts`, `waitForAbort`).
 */
import { createStreamHub, type Producer } from "./stream_hub.ts";
import {
  completionId,
  estimatePromptTokens,
  type RecordedRequest,
  RequestLog,
  type RequestTracker,
  sleep,
  tokenize,
} from "./recorder.ts";

/** Fault modes of the llama.cpp fake. */
export type FakeLlamaFault =
  | { kind: "context-exceeded-frame"; afterTokens?: number }
  | { kind: "hang"; afterTokens?: number }
  | { kind: "reset"; afterTokens?: number };

/** Options of the llama.cpp fake. */
export interface FakeLlamaCppOptions {
  modelId?: string;
  nCtx?: number;
  nCtxTrain?: number;
  apiKey?: string | null;
  loading?: boolean;
  reply?: string;
  finishReason?: "stop" | "length";
  headerDelayMs?: number;
  promptDelayMs?: number;
  tokenDelayMs?: number;
  fault?: FakeLlamaFault | null;
}

/** A running llama.cpp fake. */
export interface FakeLlamaCpp {
  url: string;
  port: number;
  requests: RecordedRequest[];
  readonly aborts: RecordedRequest[];
  readonly options: Required<FakeLlamaCppOptions>;
  set(options: FakeLlamaCppOptions): void;
  waitForRequest(
    pred: (r: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest>;
  waitForAbort(
    pred?: (r: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/** Recorded bodies. */
export const LLAMA_NOT_FOUND_BODY =
  '{"error":{"message":"File Not Found","type":"not_found_error","code":404}}';
export const LLAMA_LOADING_BODY =
  '{"error":{"message":"Loading model","type":"unavailable_error","code":503}}';
export const LLAMA_AUTH_BODY =
  '{"error":{"message":"Invalid API Key","type":"authentication_error","code":401}}';
export const LLAMA_CONTEXT_EXCEEDED_BODY =
  '{"error":{"code":500,"message":"Context size has been exceeded.","type":"server_error"}}';
/** 06-misc.txt: `/v1/embeddings` on a server started without `--embeddings`. */
export const LLAMA_NO_EMBEDDINGS_BODY =
  '{"error":{"code":501,"message":"This server does not support embeddings. Start it with `--embeddings`","type":"not_supported_error"}}';

/** The error body of a JSON parse failure, in nlohmann::json's words (05-errors.txt). */
function parseErrorBody(raw: string): string {
  let message: string;
  if (raw.trim() === "") {
    message =
      "[json.exception.parse_error.101] parse error at line 1, column 1: attempting to parse an empty input; check that your input string or stream contains the expected JSON";
  } else {
    // Which container was open when the input ended: recorded for an array; the object and
    // bare-value wordings are nlohmann's own but not recorded (guess).
    const open: string[] = [];
    let inString = false;
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "[" || c === "{") open.push(c);
      else if (c === "]" || c === "}") open.pop();
    }
    const what = open.at(-1) === "["
      ? "array - unexpected end of input; expected ']'"
      : open.at(-1) === "{"
      ? "object - unexpected end of input; expected '}'"
      : "value - unexpected end of input; expected '[', '{', or a literal";
    message = `[json.exception.parse_error.101] parse error at line 1, column ${
      raw.length + 1
    }: syntax error while parsing ${what}`;
  }
  return JSON.stringify({ error: { code: 500, message, type: "server_error" } });
}

function badRequest(message: string): Response {
  return json(
    400,
    JSON.stringify({ error: { code: 400, message, type: "invalid_request_error" } }),
  );
}

/**
 * The generated tokens for a request: `max_tokens` caps them (negative: one token, as recorded
 * in 05-errors.txt; not a number: ignored, as recorded), `stop` cuts at the first stop string.
 */
function generate(reply: string, body: Record<string, unknown>, finish: string) {
  let tokens = tokenize(reply);
  let reason = finish;
  const stops = typeof body.stop === "string"
    ? [body.stop]
    : Array.isArray(body.stop)
    ? body.stop.filter((s): s is string => typeof s === "string" && s !== "")
    : [];
  const text = tokens.join("");
  const cut = Math.min(...stops.map((s) => text.indexOf(s)).filter((i) => i >= 0));
  if (Number.isFinite(cut)) {
    const kept: string[] = [];
    let len = 0;
    for (const t of tokens) {
      if (len + t.length > cut) break;
      kept.push(t);
      len += t.length;
    }
    const rest = text.slice(len, cut);
    tokens = rest ? [...kept, rest] : kept;
    reason = "stop";
  }
  const max = body.max_tokens;
  if (typeof max === "number" && Number.isInteger(max)) {
    const limit = max < 0 ? 1 : max;
    if (tokens.length >= limit) {
      tokens = tokens.slice(0, limit);
      reason = "length";
    }
  }
  return { tokens, reason };
}

const FINGERPRINT = "b9153-97b658cee";

function json(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "access-control-allow-origin": "",
    },
  });
}

function timings(promptN: number, predictedN: number) {
  const predictedMs = predictedN * 0.45;
  return {
    cache_n: 0,
    prompt_n: promptN,
    prompt_ms: promptN * 0.5,
    prompt_per_token_ms: 0.5,
    prompt_per_second: 2000,
    predicted_n: predictedN,
    predicted_ms: predictedMs,
    predicted_per_token_ms: 0.45,
    predicted_per_second: predictedN ? 1000 / 0.45 : 0,
  };
}

/** Starts a fake llama-server on 127.0.0.1 with an OS-chosen port. */
export function startFakeLlamaCpp(options: FakeLlamaCppOptions = {}): Promise<FakeLlamaCpp> {
  const opts: Required<FakeLlamaCppOptions> = {
    modelId: "tiny-random",
    nCtx: 256,
    nCtxTrain: 4096,
    apiKey: null,
    loading: false,
    reply: " habe regnig Stream wooden Normdaten",
    finishReason: "length",
    headerDelayMs: 0,
    promptDelayMs: 0,
    tokenDelayMs: 0,
    fault: null,
    ...options,
  };
  const log = new RequestLog();
  const streams = createStreamHub(log, "fake llama.cpp");

  function modelsBody(): string {
    const id = opts.modelId;
    return JSON.stringify({
      models: [{
        name: id,
        model: id,
        modified_at: "",
        size: "",
        digest: "",
        type: "model",
        description: "",
        tags: [""],
        capabilities: ["completion"],
        parameters: "",
        details: {
          parent_model: "",
          format: "gguf",
          family: "",
          families: [""],
          parameter_size: "",
          quantization_level: "",
        },
      }],
      object: "list",
      data: [{
        id,
        aliases: [id],
        tags: [],
        object: "model",
        created: Math.floor(Date.now() / 1000),
        owned_by: "llamacpp",
        meta: {
          vocab_type: 1,
          n_vocab: 32064,
          n_ctx: opts.nCtx,
          n_ctx_train: opts.nCtxTrain,
          n_embd: 64,
          n_params: 4178240,
          size: 8504576,
        },
      }],
    });
  }

  async function handle(req: Request, t: RequestTracker): Promise<Response> {
    const { method, path } = t.record;
    if (opts.loading) return json(503, LLAMA_LOADING_BODY);
    if (method === "GET" && path === "/health") return json(200, '{"status":"ok"}');
    if (method === "GET" && (path === "/v1/models" || path === "/models")) {
      return json(200, modelsBody());
    }
    if (method === "OPTIONS") return preflight(req);
    if (method === "POST" && path === "/apply-template") return applyTemplate(t);
    if (
      method === "POST" &&
      ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"].includes(path)
    ) {
      if (opts.apiKey && req.headers.get("authorization") !== `Bearer ${opts.apiKey}`) {
        return json(401, LLAMA_AUTH_BODY);
      }
      if (path === "/v1/embeddings") return json(501, LLAMA_NO_EMBEDDINGS_BODY);
      return await chat(t, path === "/v1/completions");
    }
    return json(404, LLAMA_NOT_FOUND_BODY);
  }

  /** 06-misc.txt, "CORS": a preflight is answered 200 with the origin echoed. */
  function preflight(req: Request): Response {
    return new Response(null, {
      status: 200,
      headers: {
        "access-control-allow-origin": req.headers.get("origin") ?? "",
        "access-control-allow-credentials": "true",
        "access-control-allow-headers": "*",
        "access-control-allow-methods": "GET, POST",
      },
    });
  }

  /** 06-misc.txt, "chat template rendering": the Phi-3 template of the recorded model. */
  function applyTemplate(t: RequestTracker): Response {
    const body = t.record.body as { messages?: { role?: unknown; content?: unknown }[] } | null;
    const messages = Array.isArray(body?.messages) ? body.messages : [];
    const prompt = messages.map((m) => `<|${m.role}|>\n${m.content}<|end|>\n`).join("") +
      "<|assistant|>\n";
    return json(200, JSON.stringify({ prompt }));
  }

  async function chat(t: RequestTracker, legacy = false): Promise<Response> {
    const raw = t.record.rawBody;
    const body = t.record.body as Record<string, unknown> | null | undefined;
    if (body === undefined) return json(500, parseErrorBody(raw));
    const field = legacy ? "prompt" : "messages";
    // `null` answered like `[1,2,3]` (recorded) is a guess: no recording sends a JSON null.
    if (body === null || typeof body !== "object" || Array.isArray(body) || !(field in body)) {
      return badRequest(`'${field}' is required`);
    }
    if (!legacy && !Array.isArray(body.messages)) {
      return badRequest("Expected 'messages' to be an array");
    }
    const format = (body.response_format ?? null) as { type?: unknown } | null;
    if (format && !["text", "json_object", "json_schema"].includes(String(format.type))) {
      return badRequest(
        `response_format type must be one of "text" or "json_object", but got: ${format.type}`,
      );
    }
    if (!(await sleep(opts.headerDelayMs, t.signal))) return new Response(null);
    // Legacy prompts: a token a word plus BOS (04-context.txt: 300 words → 301 tokens).
    const promptTokens = legacy
      ? tokenize(String(body.prompt)).length + 1
      : estimatePromptTokens(body.messages);
    if (promptTokens >= opts.nCtx) {
      return json(
        400,
        JSON.stringify({
          error: {
            code: 400,
            message:
              `request (${promptTokens} tokens) exceeds the available context size (${opts.nCtx} tokens), try increasing it`,
            type: "exceed_context_size_error",
            n_prompt_tokens: promptTokens,
            n_ctx: opts.nCtx,
          },
        }),
      );
    }
    const fault = opts.fault;
    const { tokens, reason } = generate(opts.reply, body, opts.finishReason);
    const n = typeof body.n === "number" && Number.isInteger(body.n) && body.n > 1 ? body.n : 1;
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      completion_tokens: tokens.length,
      prompt_tokens: promptTokens,
      total_tokens: promptTokens + tokens.length,
      prompt_tokens_details: { cached_tokens: 0 },
    };
    if (body.stream !== true || legacy) {
      if (fault?.kind === "context-exceeded-frame") return json(500, LLAMA_CONTEXT_EXCEEDED_BODY);
      if (!(await sleep(opts.promptDelayMs, t.signal))) return new Response(null);
      const choices = Array.from(
        { length: n },
        (_, index) =>
          legacy ? { text: tokens.join(""), index, logprobs: null, finish_reason: reason } : {
            finish_reason: reason,
            index,
            message: { role: "assistant", content: tokens.join("") },
          },
      );
      return json(
        200,
        JSON.stringify({
          choices,
          created,
          model: opts.modelId,
          system_fingerprint: FINGERPRINT,
          object: legacy ? "text_completion" : "chat.completion",
          usage,
          id,
          timings: timings(promptTokens, tokens.length),
        }),
      );
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)
      ?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        choices,
        created,
        id,
        model: opts.modelId,
        system_fingerprint: FINGERPRINT,
        object: "chat.completion.chunk",
        ...extra,
      });
    const delta = (d: Record<string, unknown>, finish: string | null = null) =>
      chunk([{ finish_reason: finish, index: 0, delta: d }]);

    const produce: Producer = async (write, signal) => {
      if (!(await sleep(opts.promptDelayMs, signal))) return "aborted";
      if (!write(`data: ${delta({ role: "assistant", content: null })}\n\n`)) return "aborted";
      const faultAt = fault ? fault.afterTokens ?? 2 : -1;
      for (let i = 0; i <= tokens.length; i++) {
        if (fault && i === Math.min(faultAt, tokens.length)) {
          if (fault.kind === "hang") {
            await sleep(1e9, signal);
            return "aborted";
          }
          if (fault.kind === "reset") {
            await sleep(30, signal); // what was written reaches the client first
            return "reset";
          }
          write(`data: ${LLAMA_CONTEXT_EXCEEDED_BODY}\n\n`);
          return "close";
        }
        if (i === tokens.length) break;
        if (i > 0 && !(await sleep(opts.tokenDelayMs, signal))) return "aborted";
        if (!write(`data: ${delta({ content: tokens[i] })}\n\n`)) return "aborted";
      }
      const tm = { timings: timings(1, tokens.length) };
      const finish = [{ finish_reason: reason, index: 0, delta: {} }];
      // Recorded: the finish chunk carries `timings` unless a usage chunk follows with them.
      write(`data: ${includeUsage ? chunk(finish) : chunk(finish, tm)}\n\n`);
      if (includeUsage) write(`data: ${chunk([], { usage, ...tm })}\n\n`);
      write("data: [DONE]\n\n");
      return "close";
    };
    return new Response(streams.body(t, produce), {
      status: 200,
      headers: {
        "keep-alive": "timeout=5, max=100",
        "content-type": "text/event-stream",
        "server": "llama.cpp",
        "access-control-allow-origin": "",
      },
    });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const t = await log.track(req);
      const res = await handle(req, t);
      // 06-misc.txt, "CORS": any request with an Origin gets it echoed.
      const origin = req.headers.get("origin");
      if (origin) res.headers.set("access-control-allow-origin", origin);
      if (res.headers.get("content-type") !== "text/event-stream") t.finished();
      return res;
    },
  );
  const port = server.addr.port;
  return Promise.resolve({
    url: `http://127.0.0.1:${port}`,
    port,
    requests: log.requests,
    get aborts() {
      return log.aborts;
    },
    get options() {
      return opts;
    },
    set(next: FakeLlamaCppOptions) {
      Object.assign(opts, next);
    },
    waitForRequest: (pred, timeoutMs) => log.waitFor(pred, timeoutMs),
    waitForAbort: (pred, timeoutMs) => log.waitForAbort(pred, timeoutMs),
    async close() {
      streams.closeAll();
      await server.shutdown();
    },
  });
}
