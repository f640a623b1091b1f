/**
 * A fake LM Studio server for tests: real HTTP on 127.0.0.1 (port 0), speaking the wire format of
 * `tests/fixtures/transcripts/lmstudio.md`, quirks included, byte for byte where the transcript
 * gives bytes (checked by tests/providers/fakes_test.ts). Stream chunks follow the LM Studio
 * chunks quoted in docs/providers.md ("LM Studio streams"); what no source shows is marked guess. It records every request and every client disconnect, and can be switched into the
 * fault modes deepstudio must survive.
 *
 * ```ts
 * const lm = await startFakeLmStudio({ tokenDelayMs: 20 });
 * // ... point llm.lmstudio.url at lm.url ...
 * const aborted = await lm.waitForAbort(); // the fake saw the client go away
 * await lm.close();
 * ```
 *
 * Routes (all JSON answers are `content-type: application/json; charset=utf-8`):
 * - `GET /lmstudio-greeting` → `{"lmstudio":true}` (with auth on, it needs the token like every
 *   request: lmstudio.md, "Authentication").
 * - `GET /v1/models` → `{"data":[{"id","object":"model","owned_by":"organization_owner"}],"object":"list"}`:
 *   every downloaded model with JIT on (the default), only loaded ones with `jit: false`.
 * - `GET /api/v0/models` (0.3.6+): v0 records (`type` plural `"embeddings"`, `state`,
 *   `loaded_context_length` when loaded, `capabilities: ["tool_use"]`).
 * - `GET /api/v1/models` (0.4.0+): the v1 records as configured (`loaded_instances[].config.context_length`).
 * - `POST /v1/chat/completions`: non-stream JSON or SSE (`data: {...}\n\n`; every chunk's delta
 *   carries `role: "assistant"` with its content or reasoning, as LM Studio sends them, no role-only
 *   first chunk; a final empty delta with `finish_reason` (guess), a usage chunk with empty
 *   `choices` only when `stream_options.include_usage`, then `data: [DONE]\n\n`).
 *   With exactly one chat model loaded the requested `model` is ignored and the answer names the
 *   loaded one. No model loaded (and the requested one unknown or JIT off) → 404 "No models
 *   loaded". `response_format: {type: "json_object"}` → 400 `{"error":"'response_format.type' must be 'json_schema' or 'text'"}`.
 *   A prompt larger than the loaded context (≈ 4 characters a token + 4 per message) → 400
 *   `{"error":"Trying to keep the first N tokens when context the overflows. ..."}`.
 * - Anything else, any other method (OPTIONS included) → **200**
 *   `{"error":"Unexpected endpoint or method. (METHOD /path)"}`, as LM Studio does. Switching a
 *   native API off (`nativeV1: false`, `nativeV0: false`) makes that route answer the same way,
 *   which is what older LM Studio versions do.
 * - With `apiToken` set, every route needs `Authorization: Bearer <token>`;
 *   otherwise 401 with LM Studio's `invalid_api_key` body. Without it any key, or none, passes.
 *
 * Options (all optional; `set()` changes them on a running fake, shallow-merged):
 * - `models`: v1-style records ({@link FakeModel}). Default: one loaded LLM (`qwen2.5-7b-instruct`,
 *   context 4096 of max 32768), one not-loaded LLM (`google/gemma-4-26b-a4b`, vision + reasoning),
 *   one embedding model (`text-embedding-nomic-embed-text-v1.5`). See {@link DEFAULT_MODELS}.
 * - `jit` (true): just-in-time loading; a chat request naming a downloaded, unloaded model loads it
 *   (waiting `jitLoadMs` before headers) and it then shows as loaded.
 * - `jitLoadMs` (0): simulated load time for JIT loads.
 * - `nativeV1` / `nativeV0` / `greeting` (true): switch `/api/v1/models`, `/api/v0/models`,
 *   `/lmstudio-greeting` off (they then answer 200 "Unexpected endpoint").
 * - `apiToken` (null): require this bearer token.
 * - `reply` ("Hello from the fake LM Studio."): the answer, streamed one word-ish token per chunk.
 * - `reasoning` (""): reasoning text streamed before the answer in `delta[reasoningField]`.
 * - `reasoningField` ("reasoning"): `"reasoning"` (gpt-oss style) or `"reasoning_content"`.
 * - `finishReason` ("stop").
 * - `headerDelayMs` (0): wait before sending any chat response headers (a model loading).
 * - `promptDelayMs` (0): after the 200 + SSE headers, silence before the first chunk (prompt
 *   processing).
 * - `tokenDelayMs` (0): wait between chunks.
 * - `modelsDelayMs` (0): wait before answering the model lists and the greeting.
 * - `fault`: a {@link FakeFault} applied to chat completions (and, where it fits, native chat).
 * - Native 0.4 routes (`/api/v1/models/load`, `/unload`, `/api/v1/chat`) and their options
 *   (`nativeChat`, `loadMs`, `loadProgressSteps`, `promptProgressSteps`, `loadError`): see
 *   `lmstudio_native.ts`.
 *
 * Recording: `requests` lists every request ({@link RecordedRequest}: method, raw path, headers
 * incl. authorization, parsed body, start time, aborted/abortedAt/abortedPhase); `aborts` lists
 * those whose client went away early; `waitForAbort(pred?, timeoutMs?)` and
 * `waitForRequest(pred, timeoutMs?)` wait for one.
 */
import { handleNative, NATIVE_DEFAULTS, type NativeOptions } from "./lmstudio_native.ts";
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

export type { RecordedRequest };

/** An LM Studio 0.4 `/api/v1/models` record (the fake's source of truth for all three lists). */
export interface FakeModel {
  type: "llm" | "vlm" | "embedding";
  publisher: string;
  key: string;
  display_name: string;
  architecture?: string;
  quantization: { name: string; bits_per_weight: number } | null;
  size_bytes: number;
  params_string: string | null;
  loaded_instances: { id: string; config: { context_length: number; [k: string]: unknown } }[];
  max_context_length: number;
  format: string;
  capabilities?: {
    vision?: boolean;
    trained_for_tool_use?: boolean;
    reasoning?: { allowed_options: string[]; default: string };
  };
  description?: string | null;
  variants?: string[];
  selected_variant?: string;
  /** Fake-only: shown as `state: "loading"` by /api/v0/models (not sent in v1 records). */
  loading?: boolean;
}

/** Fault modes for `POST /v1/chat/completions`. `afterTokens` counts content/reasoning chunks. */
export type FakeFault =
  /** Stream `afterTokens` chunks, then send nothing more and never close. */
  | { kind: "hang"; afterTokens?: number }
  /** Stream `afterTokens` chunks, then kill the connection mid-body (no terminating chunk). */
  | { kind: "reset"; afterTokens?: number }
  /** Stream `afterTokens` chunks, then `data: {"error":{...}}` and close without `[DONE]`. */
  | { kind: "error-frame"; afterTokens?: number; message?: string }
  /** Stream `afterTokens` chunks, then a `data:` frame that is not valid JSON, then close. */
  | { kind: "malformed-frame"; afterTokens?: number }
  /** Non-stream: 200 with a JSON body cut in the middle. Stream: a frame cut mid-JSON, then EOF. */
  | { kind: "truncated-json" }
  /** 429 with `retry-after`. */
  | { kind: "rate-limit"; retryAfter?: number }
  /** 500 with an error object. */
  | { kind: "server-error"; message?: string }
  /** 400 with one of LM Studio's context-overflow texts, whatever the prompt size. */
  | {
    kind: "context-overflow";
    text?: "trying-to-keep" | "initial-prompt" | "n-keep";
    promptTokens?: number;
    contextLength?: number;
    /** Only requests whose messages contain this text overflow (e.g. one research step). */
    matching?: string;
    /** Only while the loaded context is below this (a reload with enough context cures it). */
    untilContext?: number;
  };

/** Options of the fake (see the module header for what each does). */
export interface FakeLmStudioOptions extends NativeOptions {
  models?: FakeModel[];
  jit?: boolean;
  jitLoadMs?: number;
  nativeV1?: boolean;
  nativeV0?: boolean;
  greeting?: boolean;
  apiToken?: string | null;
  reply?: string;
  reasoning?: string;
  reasoningField?: "reasoning" | "reasoning_content";
  finishReason?: "stop" | "length";
  headerDelayMs?: number;
  promptDelayMs?: number;
  tokenDelayMs?: number;
  modelsDelayMs?: number;
  fault?: FakeFault | null;
}

/** A running fake. */
export interface FakeLmStudio {
  /** `http://127.0.0.1:<port>` (no trailing slash, no /v1). */
  url: string;
  port: number;
  /** Every request, in order of arrival. */
  requests: RecordedRequest[];
  /** Requests the client abandoned before the response was complete. */
  readonly aborts: RecordedRequest[];
  /** The current options (models mutate when JIT loads one). */
  readonly options: Required<FakeLmStudioOptions>;
  /** Changes options on the running fake (shallow merge). */
  set(options: FakeLmStudioOptions): void;
  /** Chat completion requests only. */
  chatRequests(): RecordedRequest[];
  waitForRequest(
    pred: (r: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest>;
  waitForAbort(
    pred?: (r: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest>;
  /** Ends hanging streams and shuts the server down. */
  close(): Promise<void>;
}

/** The default model set: one loaded LLM, one not-loaded LLM, one embedding model. */
export const DEFAULT_MODELS: readonly FakeModel[] = [
  {
    type: "llm",
    publisher: "lmstudio-community",
    key: "qwen2.5-7b-instruct",
    display_name: "Qwen2.5 7B Instruct",
    architecture: "qwen2",
    quantization: { name: "Q4_K_M", bits_per_weight: 4 },
    size_bytes: 4683073184,
    params_string: "7B",
    loaded_instances: [{
      id: "qwen2.5-7b-instruct",
      config: {
        context_length: 4096,
        eval_batch_size: 512,
        parallel: 4,
        flash_attention: true,
        offload_kv_cache_to_gpu: true,
      },
    }],
    max_context_length: 32768,
    format: "gguf",
    capabilities: { vision: false, trained_for_tool_use: true },
    description: null,
    variants: ["qwen2.5-7b-instruct@q4_k_m"],
    selected_variant: "qwen2.5-7b-instruct@q4_k_m",
  },
  {
    type: "llm",
    publisher: "google",
    key: "google/gemma-4-26b-a4b",
    display_name: "Gemma 4 26B A4B",
    architecture: "gemma4",
    quantization: { name: "Q4_K_M", bits_per_weight: 4 },
    size_bytes: 17990911801,
    params_string: "26B-A4B",
    loaded_instances: [],
    max_context_length: 262144,
    format: "gguf",
    capabilities: {
      vision: true,
      trained_for_tool_use: true,
      reasoning: { allowed_options: ["off", "on"], default: "on" },
    },
    description: null,
    variants: ["google/gemma-4-26b-a4b@q4_k_m"],
    selected_variant: "google/gemma-4-26b-a4b@q4_k_m",
  },
  {
    type: "embedding",
    publisher: "gaianet",
    key: "text-embedding-nomic-embed-text-v1.5-embedding",
    display_name: "Nomic Embed Text v1.5",
    quantization: { name: "F16", bits_per_weight: 16 },
    size_bytes: 274290560,
    params_string: null,
    loaded_instances: [],
    max_context_length: 2048,
    format: "gguf",
  },
];

/** A loaded chat model record with the given context (handy for `models:` in tests). */
export function loadedModel(key: string, contextLength: number, max = 32768): FakeModel {
  return {
    ...structuredClone(DEFAULT_MODELS[0]),
    key,
    display_name: key,
    loaded_instances: [{ id: key, config: { context_length: contextLength } }],
    max_context_length: max,
  };
}

/** LM Studio's 401 body (0.4.0+ with "Require Authentication" on). */
export const AUTH_REQUIRED_BODY =
  `{"error":{"type":"invalid_request","code":"invalid_api_key","message":"An LM Studio API token is required to make requests to this server, but none was provided using the Authorization header using the 'Bearer' scheme (i.e., 'Authorization: Bearer $LM_API_TOKEN')."}}`;

/** LM Studio's 404 when nothing is loaded. */
export const NO_MODELS_LOADED_BODY =
  '{"error":{"message":"No models loaded. Please load a model in the developer page or use the `lms load` command.","type":"invalid_request_error","param":"model","code":"model_not_found"}}';

/** LM Studio's 400 for `response_format: {type: "json_object"}`. */
export const JSON_OBJECT_BODY =
  `{"error":"'response_format.type' must be 'json_schema' or 'text'"}`;

/** LM Studio's context-overflow texts (docs/providers.md, "Errors"), with the numbers filled in. */
export function overflowText(
  style: "trying-to-keep" | "initial-prompt" | "n-keep",
  promptTokens: number,
  contextLength: number,
): string {
  if (style === "initial-prompt") {
    return "The number of tokens to keep from the initial prompt is greater than the context length. Try to load the model with a larger context length, or provide a shorter input.";
  }
  if (style === "n-keep") {
    return `Cannot truncate prompt with n_keep (${promptTokens}) >= n_ctx (${contextLength})`;
  }
  return `Trying to keep the first ${promptTokens} tokens when context the overflows. However, the model is loaded with context length of only ${contextLength} tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input`;
}

/** The 200 body LM Studio sends for unknown routes and methods. */
export function unexpectedEndpointBody(method: string, path: string): string {
  return JSON.stringify({ error: `Unexpected endpoint or method. (${method} ${path})` });
}

const JSON_TYPE = "application/json; charset=utf-8";

function jsonText(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

function defaults(): Required<FakeLmStudioOptions> {
  return {
    models: structuredClone(DEFAULT_MODELS) as FakeModel[],
    jit: true,
    jitLoadMs: 0,
    nativeV1: true,
    nativeV0: true,
    greeting: true,
    apiToken: null,
    reply: "Hello from the fake LM Studio.",
    reasoning: "",
    reasoningField: "reasoning",
    finishReason: "stop",
    headerDelayMs: 0,
    promptDelayMs: 0,
    tokenDelayMs: 0,
    modelsDelayMs: 0,
    fault: null,
    ...NATIVE_DEFAULTS,
  };
}

function isChat(m: FakeModel): boolean {
  return m.type === "llm" || m.type === "vlm";
}

function v1Record(m: FakeModel): Record<string, unknown> {
  const { loading: _loading, ...rest } = m;
  return rest;
}

function v0Record(m: FakeModel): Record<string, unknown> {
  const loaded = m.loaded_instances.length > 0;
  const out: Record<string, unknown> = {
    id: m.key,
    object: "model",
    type: m.type === "embedding"
      ? "embeddings"
      : m.type === "llm" && m.capabilities?.vision
      ? "vlm"
      : m.type,
    publisher: m.publisher,
    arch: m.architecture ?? null,
    compatibility_type: m.format,
    quantization: m.quantization?.name ?? null,
    state: m.loading ? "loading" : loaded ? "loaded" : "not-loaded",
    max_context_length: m.max_context_length,
  };
  if (loaded) out.loaded_context_length = m.loaded_instances[0].config.context_length;
  if (m.capabilities?.trained_for_tool_use) out.capabilities = ["tool_use"];
  return out;
}

/** Starts a fake LM Studio on 127.0.0.1 with an OS-chosen port. */
export function startFakeLmStudio(options: FakeLmStudioOptions = {}): Promise<FakeLmStudio> {
  const opts: Required<FakeLmStudioOptions> = { ...defaults(), ...options };
  const log = new RequestLog();
  const streams = createStreamHub(log, "fake LM Studio");

  function authorized(req: Request): boolean {
    if (!opts.apiToken) return true;
    return req.headers.get("authorization") === `Bearer ${opts.apiToken}`;
  }

  async function handle(req: Request, t: RequestTracker): Promise<Response> {
    const { method, path } = t.record;
    const unexpected = () => jsonText(200, unexpectedEndpointBody(method, path));
    if (!authorized(req)) return jsonText(401, AUTH_REQUIRED_BODY);
    if (method === "GET" && path === "/lmstudio-greeting") {
      if (!opts.greeting) return unexpected();
      await sleep(opts.modelsDelayMs, t.signal);
      return jsonText(200, '{"lmstudio":true}');
    }
    if (method === "GET" && path === "/v1/models") {
      await sleep(opts.modelsDelayMs, t.signal);
      const listed = opts.jit ? opts.models : opts.models.filter((m) => m.loaded_instances.length);
      const data = listed.map((m) => ({
        id: m.key,
        object: "model",
        owned_by: "organization_owner",
      }));
      return jsonText(200, JSON.stringify({ data, object: "list" }));
    }
    if (method === "GET" && path === "/api/v0/models") {
      if (!opts.nativeV0) return unexpected();
      await sleep(opts.modelsDelayMs, t.signal);
      return jsonText(200, JSON.stringify({ object: "list", data: opts.models.map(v0Record) }));
    }
    if (method === "GET" && path === "/api/v1/models") {
      if (!opts.nativeV1) return unexpected();
      await sleep(opts.modelsDelayMs, t.signal);
      return jsonText(200, JSON.stringify({ models: opts.models.map(v1Record) }));
    }
    if (method === "POST" && path === "/v1/chat/completions") return await chat(t);
    const native = await handleNative({
      opts,
      closing: streams.closing,
      json: jsonText,
      unexpected,
      stream: streamResponse,
    }, t);
    return native ?? unexpected();
  }

  /** Picks the model that answers, LM Studio style; a Response when it cannot. */
  async function pickModel(requested: string, t: RequestTracker): Promise<FakeModel | Response> {
    const loaded = opts.models.filter((m) => isChat(m) && m.loaded_instances.length > 0);
    if (loaded.length === 1) return loaded[0];
    const match = opts.models.find((m) =>
      m.key === requested || m.loaded_instances.some((i) => i.id === requested)
    );
    if (match && isChat(match) && match.loaded_instances.length) return match;
    if (match && isChat(match) && opts.jit) {
      if (!(await sleep(opts.jitLoadMs, t.signal))) return new Response(null);
      match.loaded_instances.push({ id: match.key, config: { context_length: 4096 } });
      return match;
    }
    if (loaded.length === 0) return jsonText(404, NO_MODELS_LOADED_BODY);
    // Several loaded and the request names none of them (wording not from a transcript).
    return jsonText(
      404,
      JSON.stringify({
        error: {
          message: `Model "${requested}" not found. Loaded models: ${
            loaded.map((m) => m.key).join(", ")
          }`,
          type: "invalid_request_error",
          param: "model",
          code: "model_not_found",
        },
      }),
    );
  }

  async function chat(t: RequestTracker): Promise<Response> {
    const body = t.record.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object") {
      return jsonText(400, JSON.stringify({ error: "Invalid request body: expected JSON" }));
    }
    if (!(await sleep(opts.headerDelayMs, t.signal))) return new Response(null);
    const fault = opts.fault;
    if (fault?.kind === "rate-limit") {
      return jsonText(
        429,
        JSON.stringify({
          error: {
            message: "Rate limit reached for requests",
            type: "rate_limit_error",
            code: "rate_limit_exceeded",
          },
        }),
        { "retry-after": String(fault.retryAfter ?? 7) },
      );
    }
    if (fault?.kind === "server-error") {
      return jsonText(
        500,
        JSON.stringify({
          error: {
            message: fault.message ?? "Model crashed while generating",
            type: "server_error",
          },
        }),
      );
    }
    const format = (body.response_format as { type?: string } | undefined)?.type;
    if (format === "json_object") return jsonText(400, JSON_OBJECT_BODY);
    const requested = typeof body.model === "string" ? body.model : "";
    const picked = await pickModel(requested, t);
    if (picked instanceof Response) return picked;
    const model = picked;
    const context = model.loaded_instances[0]?.config.context_length ?? 4096;
    const promptTokens = estimatePromptTokens(body.messages);
    if (
      fault?.kind === "context-overflow" &&
      (!fault.matching || JSON.stringify(body.messages).includes(fault.matching)) &&
      (fault.untilContext === undefined || context < fault.untilContext)
    ) {
      const text = overflowText(
        fault.text ?? "trying-to-keep",
        fault.promptTokens ?? promptTokens,
        fault.contextLength ?? context,
      );
      return jsonText(400, JSON.stringify({ error: text }));
    }
    if (promptTokens > context) {
      return jsonText(
        400,
        JSON.stringify({ error: overflowText("trying-to-keep", promptTokens, context) }),
      );
    }
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    const reasoningTokens = tokenize(opts.reasoning);
    const contentTokens = tokenize(opts.reply);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: reasoningTokens.length + contentTokens.length,
      total_tokens: promptTokens + reasoningTokens.length + contentTokens.length,
    };
    if (body.stream !== true) {
      if (!(await sleep(opts.promptDelayMs, t.signal))) return new Response(null);
      const message: Record<string, unknown> = { role: "assistant", content: opts.reply };
      if (opts.reasoning) message[opts.reasoningField] = opts.reasoning;
      const text = JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model: model.key,
        choices: [{ index: 0, message, logprobs: null, finish_reason: opts.finishReason }],
        usage,
        system_fingerprint: model.key,
      });
      if (fault?.kind === "truncated-json") {
        return jsonText(200, text.slice(0, Math.floor(text.length / 2)));
      }
      return jsonText(200, text);
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)
      ?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model: model.key,
        system_fingerprint: model.key,
        choices,
        ...extra,
      });
    const delta = (d: Record<string, unknown>, finish: string | null = null) =>
      chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);
    return streamResponse(t, async (write, signal) => {
      if (!(await sleep(opts.promptDelayMs, signal))) return "aborted";
      const pieces: Record<string, string>[] = [
        ...reasoningTokens.map((r) => ({ role: "assistant", [opts.reasoningField]: r })),
        ...contentTokens.map((c) => ({ role: "assistant", content: c })),
      ];
      const faultAt = fault && "afterTokens" in fault ? fault.afterTokens ?? 2 : 2;
      for (let i = 0; i <= pieces.length; i++) {
        if (fault && i === Math.min(faultAt, pieces.length)) {
          switch (fault.kind) {
            case "hang":
              await sleep(1e9, signal);
              return "aborted";
            case "reset":
              // Let what was written reach the client first, as with a real mid-stream reset.
              await sleep(30, signal);
              return "reset";
            case "error-frame":
              write(
                `data: ${
                  JSON.stringify({
                    error: {
                      message: fault.message ?? "Model crashed while generating",
                      type: "server_error",
                    },
                  })
                }\n\n`,
              );
              return "close";
            case "malformed-frame":
              write(`data: {"id":"${id}","choices":[{"index":0,"delta":{"content":\n\n`);
              return "close";
            case "truncated-json":
              write(`data: ${delta({ content: "cut" }).slice(0, 40)}`);
              return "close";
          }
        }
        if (i === pieces.length) break;
        if (i > 0 && !(await sleep(opts.tokenDelayMs, signal))) return "aborted";
        if (!write(`data: ${delta(pieces[i])}\n\n`)) return "aborted";
      }
      if (!(await sleep(opts.tokenDelayMs, signal))) return "aborted";
      write(`data: ${delta({}, opts.finishReason)}\n\n`);
      if (includeUsage) write(`data: ${chunk([], { usage })}\n\n`);
      write("data: [DONE]\n\n");
      return "close";
    });
  }

  /**
   * An SSE response driven by `produce`; `write` returns false once the client has gone away.
   * `produce` returns how to end: close normally, reset the connection, or (aborted) nothing.
   */
  function streamResponse(
    t: RequestTracker,
    produce: Producer,
  ): Response {
    return new Response(streams.body(t, produce), {
      status: 200,
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
      },
    });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const t = await log.track(req);
      const res = await handle(req, t);
      if (!res.body || res.headers.get("content-type") !== "text/event-stream") t.finished();
      return res;
    },
  );
  const port = server.addr.port;
  const fake: FakeLmStudio = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: log.requests,
    get aborts() {
      return log.aborts;
    },
    get options() {
      return opts;
    },
    set(next) {
      Object.assign(opts, next);
    },
    chatRequests: () => log.requests.filter((r) => r.path === "/v1/chat/completions"),
    waitForRequest: (pred, timeoutMs) => log.waitFor(pred, timeoutMs),
    waitForAbort: (pred, timeoutMs) => log.waitForAbort(pred, timeoutMs),
    async close() {
      streams.closeAll();
      await server.shutdown();
    },
  };
  return Promise.resolve(fake);
}
