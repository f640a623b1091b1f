/**
 * Fakes of Ollama and vLLM for tests: real HTTP on 127.0.0.1, port 0. Their documented shapes
 * are in docs/providers.md ("Ollama", "vLLM"); no recording of either server is in the
 * repository, so every body here is built from those documented field lists, and what the
 * documentation does not show (exact error wording, chunk details) is marked guess.
 *
 * - `startFakeOllama`: `/api/tags`, `/api/ps` (`context_length` of running models),
 *   `/api/show` (`model_info["<arch>.context_length"]`, `capabilities`), `/api/embed`, and the
 *   OpenAI-compatible `/v1/models` (`owned_by: "library"`), `/v1/chat/completions` (chunks with
 *   `system_fingerprint: "fp_ollama"`), `/v1/embeddings`.
 * - `startFakeVllm`: `/v1/models` with `max_model_len`, `/v1/chat/completions` (a prompt plus
 *   `max_tokens` over `max_model_len` → vLLM's 400 context error).
 */
import {
  completionId,
  estimatePromptTokens,
  type RecordedRequest,
  RequestLog,
  type RequestTracker,
  sleep,
  tokenize,
} from "./recorder.ts";
import { createStreamHub, type Producer } from "./stream_hub.ts";

/** One model of the fakes. */
export interface FakeOllamaModel {
  name: string;
  family: string;
  parameterSize: string;
  quantization: string;
  /** The architecture's context length (`/api/show`). */
  contextLength: number;
  capabilities: string[];
  /** Loaded with this context (`/api/ps`), or null when not running. */
  runningContext: number | null;
}

/** Options shared by both fakes. */
export interface FakeServerOptions {
  reply?: string;
  tokenDelayMs?: number;
}

/** A running fake. */
export interface FakeServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Ollama's default models here: one running chat model, one on disk, one embedding model. */
export const OLLAMA_MODELS: FakeOllamaModel[] = [
  {
    name: "llama3.2:latest",
    family: "llama",
    parameterSize: "3.2B",
    quantization: "Q4_K_M",
    contextLength: 131072,
    capabilities: ["completion", "tools"],
    runningContext: 8192,
  },
  {
    name: "gemma3:latest",
    family: "gemma3",
    parameterSize: "4.3B",
    quantization: "Q4_K_M",
    contextLength: 131072,
    capabilities: ["completion", "vision"],
    runningContext: null,
  },
  {
    name: "nomic-embed-text:latest",
    family: "nomic-bert",
    parameterSize: "137M",
    quantization: "F16",
    contextLength: 2048,
    capabilities: ["embedding"],
    runningContext: null,
  },
];

function json(status: number, body: unknown): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

/** A deterministic unit vector for a text (values are a guess: any stable vector will do). */
function vector(text: string, dims = 8): number[] {
  const v = Array.from({ length: dims }, (_, i) => {
    let h = 2166136261 ^ i;
    for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    return ((h >>> 0) % 2000) / 1000 - 1;
  });
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

const DIGEST = "a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a";

interface Dialect {
  /** The answer to a chat request naming a model the server does not have. */
  notFound(model: unknown): Response;
  /** The OpenAI-format error of the server's chat route (null: OK). */
  check(body: Record<string, unknown>, promptTokens: number): Response | null;
  /** Chunk envelope fields, in the server's order (before `choices`). */
  envelope(id: string, created: number, model: string): Record<string, unknown>;
  /** A streamed choice. */
  choice(delta: Record<string, unknown>, finish: string | null): Record<string, unknown>;
  /** The first delta (role). */
  first: Record<string, unknown> | null;
  /** The last delta, with the finish reason. */
  last: Record<string, unknown>;
}

function startFake(
  label: string,
  opts: Required<FakeServerOptions>,
  dialect: Dialect,
  route: (req: Request, t: RequestTracker) => Response | Promise<Response> | null,
  modelName: (requested: unknown) => string | null,
): FakeServer {
  const log = new RequestLog();
  const streams = createStreamHub(log, label);

  function chat(t: RequestTracker): Response {
    const body = (t.record.body ?? {}) as Record<string, unknown>;
    const model = modelName(body.model);
    if (!model) return dialect.notFound(body.model);
    const promptTokens = estimatePromptTokens(body.messages);
    const refused = dialect.check(body, promptTokens);
    if (refused) return refused;
    let tokens = tokenize(opts.reply);
    let finish = "stop";
    if (typeof body.max_tokens === "number" && tokens.length >= body.max_tokens) {
      tokens = tokens.slice(0, body.max_tokens);
      finish = "length";
    }
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: tokens.length,
      total_tokens: promptTokens + tokens.length,
    };
    const env = dialect.envelope(id, created, model);
    if (body.stream !== true) {
      return json(200, {
        ...env,
        object: "chat.completion",
        choices: [{
          index: 0,
          message: { role: "assistant", content: tokens.join("") },
          finish_reason: finish,
        }],
        usage,
      });
    }
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ ...env, choices, ...extra })}\n\n`;
    const produce: Producer = async (write, signal) => {
      if (dialect.first && !write(frame([dialect.choice(dialect.first, null)]))) return "aborted";
      for (let i = 0; i < tokens.length; i++) {
        if (i > 0 && !(await sleep(opts.tokenDelayMs, signal))) return "aborted";
        const delta = dialect.first
          ? { content: tokens[i] }
          : { role: "assistant", content: tokens[i] };
        if (!write(frame([dialect.choice(delta, null)]))) return "aborted";
      }
      write(frame([dialect.choice(dialect.last, finish)]));
      if (includeUsage) write(frame([], { usage }));
      write("data: [DONE]\n\n");
      return "close";
    };
    return new Response(streams.body(t, produce), {
      headers: { "content-type": "text/event-stream" },
    });
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const t = await log.track(req);
    const { method, path } = t.record;
    let res: Response | null = await route(req, t);
    if (!res && method === "POST" && path === "/v1/chat/completions") res = chat(t);
    res ??= json(404, "404 page not found"); // guess: the wording of an unknown route
    if (res.headers.get("content-type") !== "text/event-stream") t.finished();
    return res;
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: log.requests,
    async close() {
      streams.closeAll();
      await server.shutdown();
    },
  };
}

/** Starts a fake Ollama with `models` (default {@link OLLAMA_MODELS}). */
export function startFakeOllama(
  options: FakeServerOptions & { models?: FakeOllamaModel[] } = {},
): FakeServer {
  const models = options.models ?? OLLAMA_MODELS;
  const opts = { reply: "Hello from the fake Ollama.", tokenDelayMs: 0, ...options };
  const find = (name: unknown) =>
    models.find((m) => m.name === name || m.name === `${name}:latest`) ?? null;
  const details = (m: FakeOllamaModel) => ({
    format: "gguf",
    family: m.family,
    families: [m.family],
    parameter_size: m.parameterSize,
    quantization_level: m.quantization,
  });
  const created = Math.floor(Date.now() / 1000);
  const route = (_req: Request, t: RequestTracker) => {
    const { method, path } = t.record;
    const body = (t.record.body ?? {}) as Record<string, unknown>;
    if (method === "GET" && path === "/api/tags") {
      return json(200, {
        models: models.map((m) => ({
          name: m.name,
          model: m.name,
          modified_at: "2025-10-03T23:34:03.409490317-07:00",
          size: 3338801804,
          digest: DIGEST,
          details: details(m),
        })),
      });
    }
    if (method === "GET" && path === "/api/ps") {
      return json(200, {
        models: models.filter((m) => m.runningContext !== null).map((m) => ({
          name: m.name,
          model: m.name,
          size: 6591830464,
          digest: DIGEST,
          details: { parent_model: "", ...details(m) },
          expires_at: "2025-10-17T16:47:07.93355-07:00",
          size_vram: 5333539264,
          context_length: m.runningContext,
        })),
      });
    }
    if (method === "POST" && path === "/api/show") {
      const m = find(body.model ?? body.name);
      // guess: the wording of Ollama's not-found error on its native API
      if (!m) return json(404, { error: `model '${body.model}' not found` });
      return json(200, {
        modelfile: `FROM ${m.name}`,
        parameters: "",
        template: "{{ .Prompt }}",
        details: { parent_model: "", ...details(m) },
        model_info: {
          "general.architecture": m.family,
          [`${m.family}.context_length`]: m.contextLength,
        },
        capabilities: m.capabilities,
      });
    }
    if (method === "POST" && path === "/api/embed") {
      const m = find(body.model);
      if (!m) return json(404, { error: `model "${body.model}" not found, try pulling it first` });
      const input = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
      return json(200, {
        model: m.name,
        embeddings: input.map((s) => vector(s)),
        total_duration: 14143917,
        load_duration: 1019500,
        prompt_eval_count: input.reduce((n, s) => n + tokenize(s).length, 0),
      });
    }
    if (method === "POST" && path === "/v1/embeddings") {
      const m = find(body.model);
      if (!m) return null;
      const input = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
      const tokens = input.reduce((n, s) => n + tokenize(s).length, 0);
      return json(200, {
        object: "list",
        data: input.map((s, index) => ({ object: "embedding", embedding: vector(s), index })),
        model: m.name,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    }
    if (method === "GET" && path === "/v1/models") {
      return json(200, {
        object: "list",
        data: models.map((m) => ({ id: m.name, object: "model", created, owned_by: "library" })),
      });
    }
    return null;
  };
  return startFake(
    "fake Ollama",
    opts,
    {
      // Ollama's OpenAI layer: 404 not_found_error (docs/providers.md, "Ollama").
      notFound: (m) =>
        json(404, {
          error: {
            message: `model "${m}" not found, try pulling it first`,
            type: "not_found_error",
            param: null,
            code: null,
          },
        }),
      check: () => null,
      envelope: (id, created, model) => ({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        system_fingerprint: "fp_ollama",
      }),
      // Ollama's chunks carry the role in every delta and no logprobs key (guess for the last one).
      choice: (delta, finish) => ({ index: 0, delta, finish_reason: finish }),
      first: null,
      last: { role: "assistant", content: "" },
    },
    route,
    (requested) => find(requested)?.name ?? null,
  );
}

/** Starts a fake vLLM serving `model` with `maxModelLen` (`vllm serve … --max-model-len`). */
export function startFakeVllm(
  options: FakeServerOptions & { model?: string; maxModelLen?: number } = {},
): FakeServer {
  const model = options.model ?? "Qwen/Qwen2.5-0.5B-Instruct";
  const maxModelLen = options.maxModelLen ?? 2048;
  const opts = { reply: "Hello from the fake vLLM.", tokenDelayMs: 0, ...options };
  const created = Math.floor(Date.now() / 1000);
  const route = (_req: Request, t: RequestTracker) => {
    if (t.record.method === "GET" && t.record.path === "/v1/models") {
      return json(200, {
        object: "list",
        data: [{
          id: model,
          object: "model",
          created,
          owned_by: "vllm",
          root: model,
          parent: null,
          max_model_len: maxModelLen,
          permission: [{
            id: "modelperm-09f199065a2846ec8bbfabea78f72349",
            object: "model_permission",
            created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: "*",
            group: null,
            is_blocking: false,
          }],
        }],
      });
    }
    return null;
  };
  return startFake(
    "fake vLLM",
    opts,
    {
      // guess: vLLM's wording for an unknown model.
      notFound: (m) =>
        json(404, {
          object: "error",
          message: `The model \`${m}\` does not exist.`,
          type: "NotFoundError",
          param: null,
          code: 404,
        }),
      check(body, promptTokens) {
        const asked = typeof body.max_tokens === "number" ? body.max_tokens : 0;
        if (promptTokens + asked <= maxModelLen) return null;
        // guess: vLLM's wording of its context error (an OpenAI-style 400 with `object: "error"`).
        return json(400, {
          object: "error",
          message:
            `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${
              promptTokens + asked
            } tokens (${promptTokens} in the messages, ${asked} in the completion). Please reduce the length of the messages or completion.`,
          type: "BadRequestError",
          param: null,
          code: 400,
        });
      },
      envelope: (id, created, m) => ({ id, object: "chat.completion.chunk", created, model: m }),
      // guess: vLLM's chunk details (role chunk with empty content first, logprobs per choice).
      choice: (delta, finish) => ({ index: 0, delta, logprobs: null, finish_reason: finish }),
      first: { role: "assistant", content: "" },
      last: { content: "" },
    },
    route,
    (requested) => requested === undefined || requested === model ? model : null,
  );
}
