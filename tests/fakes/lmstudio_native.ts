/**
 * The fake LM Studio's native 0.4 routes beyond the model list: `POST /api/v1/models/load`,
 * `POST /api/v1/models/unload` and the native chat stream `POST /api/v1/chat`, as written down in
 * `docs/lmstudio_native_api.md` (event names and data fields as documented; bodies that document
 * marks as guesses are guesses here too, and say so where they are built).
 *
 * The 0.3.x shape: with `nativeV1: false` every route here answers LM Studio's 200 "Unexpected
 * endpoint" body; `nativeChat: false` does that for `/api/v1/chat` alone, and `nativeChat: "404"`
 * answers it with a real 404 (a proxy in front of LM Studio).
 */
import type { Producer } from "./stream_hub.ts";
import { estimatePromptTokens, type RequestTracker, sleep, tokenize } from "./recorder.ts";

/** Options of the native routes (part of the fake's options; `set()` changes them live). */
export interface NativeOptions {
  /** `/api/v1/chat`: true (0.4+), false (200 "Unexpected endpoint"), "404" (a real 404). */
  nativeChat?: boolean | "404";
  /** How long an explicit `POST /api/v1/models/load` takes (ms). */
  loadMs?: number;
  /** `model_load.progress` events a native-chat JIT load sends, spread over `jitLoadMs`. */
  loadProgressSteps?: number;
  /** `prompt_processing.progress` events, spread over `promptDelayMs`. */
  promptProgressSteps?: number;
  /** Makes explicit loads fail (after `loadMs`) with this status and body. */
  loadError?: { status: number; body: string } | null;
}

/** A loaded instance as `/api/v1/models` shows it. */
export interface FakeInstance {
  id: string;
  config: { context_length: number; [k: string]: unknown };
}

/** What the native routes need from the fake around them. */
export interface NativeEnv {
  opts: Required<NativeOptions> & {
    nativeV1: boolean;
    jit: boolean;
    jitLoadMs: number;
    headerDelayMs: number;
    promptDelayMs: number;
    tokenDelayMs: number;
    reply: string;
    reasoning: string;
    models: {
      type: string;
      key: string;
      loaded_instances: FakeInstance[];
      max_context_length: number;
      loading?: boolean;
    }[];
    fault: { kind: string; afterTokens?: number; message?: string } | null;
  };
  /** Aborted when the fake closes (a load ignores client disconnects, not this). */
  closing: AbortSignal;
  json(status: number, text: string): Response;
  unexpected(): Response;
  stream(t: RequestTracker, produce: Producer): Response;
}

/** Defaults of {@link NativeOptions}. */
export const NATIVE_DEFAULTS: Required<NativeOptions> = {
  nativeChat: true,
  loadMs: 0,
  loadProgressSteps: 4,
  promptProgressSteps: 2,
  loadError: null,
};

/** The v1 typed error body `{"error":{"type","message",…}}`. */
export function v1Error(type: string, message: string, extra: Record<string, string> = {}) {
  return JSON.stringify({ error: { type, message, ...extra } });
}

/** Handles a native route, or returns null when `path` is not one. */
export async function handleNative(
  env: NativeEnv,
  t: RequestTracker,
): Promise<Response | null> {
  const { method, path } = t.record;
  if (method !== "POST") return null;
  if (path === "/api/v1/models/load") {
    return env.opts.nativeV1 ? await load(env, t) : env.unexpected();
  }
  if (path === "/api/v1/models/unload") {
    return env.opts.nativeV1 ? unload(env, t) : env.unexpected();
  }
  if (path === "/api/v1/chat") {
    if (!env.opts.nativeV1 || env.opts.nativeChat === false) return env.unexpected();
    if (env.opts.nativeChat === "404") {
      // A proxy's 404 (guess: the body is LM Studio's own unexpected-endpoint text).
      return env.json(
        404,
        JSON.stringify({ error: `Unexpected endpoint or method. (POST ${path})` }),
      );
    }
    return await chat(env, t);
  }
  return null;
}

function body(t: RequestTracker): Record<string, unknown> {
  const b = t.record.body;
  return b && typeof b === "object" && !Array.isArray(b) ? b as Record<string, unknown> : {};
}

function nextInstanceId(key: string, taken: FakeInstance[]): string {
  if (!taken.some((i) => i.id === key)) return key;
  for (let n = 2;; n++) if (!taken.some((i) => i.id === `${key}:${n}`)) return `${key}:${n}`;
}

function instanceConfig(contextLength: number) {
  return {
    context_length: contextLength,
    eval_batch_size: 512,
    parallel: 4,
    flash_attention: true,
    offload_kv_cache_to_gpu: true,
  };
}

async function load(env: NativeEnv, t: RequestTracker): Promise<Response> {
  const b = body(t);
  if (typeof b.model !== "string" || b.model === "") {
    return env.json(
      400,
      v1Error("invalid_request", '"model" is required', {
        code: "missing_required_parameter",
        param: "model",
      }),
    );
  }
  const model = env.opts.models.find((m) => m.key === b.model);
  // Status codes and wording of load errors are guesses (see docs/lmstudio_native_api.md).
  if (!model) return env.json(404, v1Error("model_not_found", `Model "${b.model}" not found`));
  const requested = b.context_length;
  if (
    requested !== undefined &&
    (typeof requested !== "number" || !Number.isInteger(requested) || requested < 1 ||
      requested > model.max_context_length)
  ) {
    return env.json(
      400,
      v1Error(
        "invalid_request",
        `context_length must be a whole number from 1 to ${model.max_context_length}`,
        { param: "context_length" },
      ),
    );
  }
  const started = performance.now();
  model.loading = true;
  // LM Studio cannot cancel a load: a client that goes away does not stop it.
  const finished = await sleep(env.opts.loadMs, env.closing);
  model.loading = false;
  if (!finished) return new Response(null, { status: 503 });
  if (env.opts.loadError) return env.json(env.opts.loadError.status, env.opts.loadError.body);
  const id = nextInstanceId(model.key, model.loaded_instances);
  const config = instanceConfig(typeof requested === "number" ? requested : 4096);
  model.loaded_instances.push({ id, config });
  const out: Record<string, unknown> = {
    type: model.type,
    instance_id: id,
    load_time_seconds: Math.round(performance.now() - started) / 1000,
    status: "loaded",
  };
  if (b.echo_load_config === true) out.load_config = config;
  return env.json(200, JSON.stringify(out));
}

function unload(env: NativeEnv, t: RequestTracker): Response {
  const id = body(t).instance_id;
  for (const m of env.opts.models) {
    const at = m.loaded_instances.findIndex((i) => i.id === id);
    if (at === -1) continue;
    m.loaded_instances.splice(at, 1);
    return env.json(200, JSON.stringify({ instance_id: id }));
  }
  // Guess: the documentation gives no body for an unknown instance.
  return env.json(404, v1Error("model_not_found", `No loaded model instance "${String(id)}"`));
}

/** `event: <type>\ndata: <json with the type repeated>\n\n`. */
function frame(type: string, data: Record<string, unknown> = {}): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function chatInputText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  return input.map((i) => (typeof i?.content === "string" ? i.content : "")).join("\n");
}

/** Waits `ms` in `steps` slices, writing `progress(fraction)` after each; false once aborted. */
async function spread(
  ms: number,
  steps: number,
  signal: AbortSignal,
  progress: (p: number) => boolean,
): Promise<boolean> {
  const n = Math.max(0, steps);
  if (n === 0) return await sleep(ms, signal);
  for (let i = 1; i <= n; i++) {
    if (!(await sleep(ms / n, signal))) return false;
    if (!progress(Math.round((i / (n + 1)) * 100) / 100)) return false;
  }
  return true;
}

async function chat(env: NativeEnv, t: RequestTracker): Promise<Response> {
  const b = body(t);
  const o = env.opts;
  if (typeof b.model !== "string" || b.model === "") {
    return env.json(
      400,
      v1Error("invalid_request", '"model" is required', {
        code: "missing_required_parameter",
        param: "model",
      }),
    );
  }
  const model = o.models.find((m) =>
    m.key === b.model || m.loaded_instances.some((i) => i.id === b.model)
  );
  if (!model || model.type === "embedding") {
    return env.json(404, v1Error("model_not_found", `Model "${b.model}" not found`));
  }
  const needsLoad = model.loaded_instances.length === 0;
  if (needsLoad && !o.jit) {
    // Guess: JIT off and the model not loaded (no documented body).
    return env.json(404, v1Error("model_not_found", `Model "${b.model}" is not loaded`));
  }
  if (!(await sleep(o.headerDelayMs, t.signal))) return new Response(null);
  if (o.fault?.kind === "server-error") {
    return env.json(500, v1Error("internal_error", o.fault.message ?? "Model crashed"));
  }
  const started = performance.now();
  const systemPrompt = typeof b.system_prompt === "string" ? b.system_prompt : "";
  const promptTokens = estimatePromptTokens([
    ...(systemPrompt ? [{ content: systemPrompt }] : []),
    { content: chatInputText(b.input) },
  ]);
  const fault = o.fault;
  return env.stream(t, async (write, signal) => {
    let instanceId = model.loaded_instances[0]?.id ?? model.key;
    let loadSeconds: number | undefined;
    if (!write(frame("chat.start", { model_instance_id: instanceId }))) return "aborted";
    if (needsLoad) {
      model.loading = true;
      const loadStart = performance.now();
      write(frame("model_load.start", { model_instance_id: instanceId }));
      const ok = await spread(
        o.jitLoadMs,
        o.loadProgressSteps,
        signal,
        (progress) =>
          write(frame("model_load.progress", { model_instance_id: instanceId, progress })),
      );
      model.loading = false;
      if (!ok) return "aborted";
      const ctx = typeof b.context_length === "number" ? b.context_length : 4096;
      instanceId = nextInstanceId(model.key, model.loaded_instances);
      model.loaded_instances.push({ id: instanceId, config: instanceConfig(ctx) });
      loadSeconds = Math.round(performance.now() - loadStart) / 1000;
      write(
        frame("model_load.end", { model_instance_id: instanceId, load_time_seconds: loadSeconds }),
      );
    }
    const context = model.loaded_instances[0].config.context_length;
    const output: Record<string, unknown>[] = [];
    const stats = (outTokens: number, reasoningTokens: number, ttft: number | null) => ({
      input_tokens: promptTokens,
      total_output_tokens: outTokens,
      reasoning_output_tokens: reasoningTokens,
      tokens_per_second: outTokens > 0
        ? Math.round(outTokens / ((performance.now() - started) / 1000) * 100) / 100
        : 0,
      time_to_first_token_seconds: ttft === null ? 0 : Math.round(ttft) / 1000,
      ...(loadSeconds !== undefined ? { model_load_time_seconds: loadSeconds } : {}),
    });
    const end = (outTokens: number, reasoningTokens: number, ttft: number | null) =>
      write(frame("chat.end", {
        result: {
          model_instance_id: instanceId,
          output,
          stats: stats(outTokens, reasoningTokens, ttft),
        },
      }));
    if (!write(frame("prompt_processing.start"))) return "aborted";
    if (fault?.kind === "context-overflow" || promptTokens > context) {
      // Guess: how an overflow shows on this route is not documented (see the docs file).
      write(frame("error", {
        error: {
          type: "unknown",
          message:
            `Trying to keep the first ${promptTokens} tokens when context the overflows. However, the model is loaded with context length of only ${context} tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input`,
        },
      }));
      end(0, 0, null);
      return "close";
    }
    const prompted = await spread(
      o.promptDelayMs,
      o.promptProgressSteps,
      signal,
      (progress) => write(frame("prompt_processing.progress", { progress })),
    );
    if (!prompted || !write(frame("prompt_processing.end"))) return "aborted";
    let ttft: number | null = null;
    let count = 0;
    const faultAt = fault && "afterTokens" in fault ? fault.afterTokens ?? 2 : 2;
    const pieces = [
      ...tokenize(o.reasoning).map((c) => ({ kind: "reasoning", c })),
      ...tokenize(o.reply).map((c) => ({ kind: "message", c })),
    ];
    let open: string | null = null;
    let text = "";
    let reasoning = "";
    for (const [i, p] of pieces.entries()) {
      if (fault && i === Math.min(faultAt, pieces.length)) {
        if (fault.kind === "hang") {
          await sleep(1e9, signal);
          return "aborted";
        }
        if (fault.kind === "reset") {
          await sleep(30, signal);
          return "reset";
        }
        if (fault.kind === "error-frame") {
          write(frame("error", {
            error: { type: "internal_error", message: fault.message ?? "Model crashed" },
          }));
          end(count, 0, ttft);
          return "close";
        }
        if (fault.kind === "malformed-frame") {
          write(`event: message.delta\ndata: {"type":"message.delta","content":\n\n`);
          return "close";
        }
      }
      if (i > 0 && !(await sleep(o.tokenDelayMs, signal))) return "aborted";
      if (open !== p.kind) {
        if (open) write(frame(`${open}.end`));
        open = p.kind;
        write(frame(`${p.kind}.start`));
      }
      ttft ??= performance.now() - started;
      count++;
      if (p.kind === "reasoning") reasoning += p.c;
      else text += p.c;
      if (!write(frame(`${p.kind}.delta`, { content: p.c }))) return "aborted";
    }
    if (open) write(frame(`${open}.end`));
    if (reasoning) output.push({ type: "reasoning", content: reasoning });
    if (text) output.push({ type: "message", content: text });
    const reasoningCount = tokenize(o.reasoning).length;
    end(count, reasoningCount, ttft);
    return "close";
  });
}
