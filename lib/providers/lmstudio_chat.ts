/**
 * LM Studio 0.4+'s native chat stream (`POST /api/v1/chat`, docs/lmstudio_native_api.md) as the
 * same typed events `streamChat` yields, plus what only this route tells: model loading and prompt
 * processing progress, and the server's own stats (tokens/s, time to first token, load time).
 *
 * Why a second client next to the OpenAI one: `/v1/chat/completions` is silent while LM Studio
 * loads a model or reads a long prompt (minutes of nothing), the native stream reports both. The
 * contract is the same: `waiting`* (now with `phase: "loading" | "prompt"` and a `progress`
 * fraction), `reasoning`/`delta`, `usage`, then one `done` or `error`; abort in every phase; the
 * idle timeout measured between bytes. While a model loads, silence up to {@link LOAD_IDLE_MS} is
 * tolerated (a slow disk can pause progress reports); progress events themselves are bytes.
 *
 * When the route is missing (0.3.x: HTTP 200 "Unexpected endpoint"; a proxy's 404) the generator
 * returns `"missing"` having yielded nothing but `waiting`, and the caller uses `/v1`.
 */
import {
  BodyTooLargeError,
  cancelledError,
  connectionError,
  type ErrorContext,
  errorFromBody,
  errorFromHttp,
  networkDetail,
  toUpstreamError,
} from "./errors.ts";
import { MAX_SMALL_BYTES, parseUpstreamJson, readUpstreamText } from "./http.ts";
import { type IdleWatcher, LOAD_IDLE_MS } from "./idle.ts";
import { round, startMetrics } from "./metrics.ts";
import { authHeaders } from "./resolve.ts";
import { UpstreamGuard } from "./upstream_guard.ts";
import { createSseParser, type SseEvent } from "./sse.ts";
import type { ChatBody } from "./stream.ts";
import type {
  ResolvedProvider,
  StreamEvent,
  StreamMetrics,
  UpstreamError,
  Usage,
} from "./types.ts";

/** The request body of `/api/v1/chat`. */
export interface NativeChatBody {
  model: string;
  input: string | { type: "message"; content: string }[];
  system_prompt?: string;
  stream: true;
  store: false;
  temperature: number;
  max_output_tokens?: number;
  top_k?: number;
  repeat_penalty?: number;
}

/**
 * The native body for an OpenAI-style one, or null when the conversation cannot be said natively
 * (it has assistant turns, or more than one system message): those go to `/v1`.
 */
export function nativeBody(body: ChatBody): NativeChatBody | null {
  const system = body.messages.filter((m) => m.role === "system");
  const users = body.messages.filter((m) => m.role === "user");
  if (system.length > 1 || users.length === 0) return null;
  if (users.length + system.length !== body.messages.length) return null;
  const out: NativeChatBody = {
    model: body.model,
    input: users.length === 1
      ? users[0].content
      : users.map((u) => ({ type: "message" as const, content: u.content })),
    stream: true,
    store: false,
    temperature: body.temperature,
  };
  if (system.length) out.system_prompt = system[0].content;
  if (body.max_tokens !== undefined) out.max_output_tokens = body.max_tokens;
  if (body.top_k !== undefined) out.top_k = body.top_k;
  if (body.repeat_penalty !== undefined) out.repeat_penalty = body.repeat_penalty;
  return out;
}

/** What the native stream needs (a subset of `StreamDeps`). */
export interface NativeChatDeps {
  fetch: typeof fetch;
  now: () => number;
  inContainer: boolean;
  /** `llm.request_timeout` in seconds. */
  timeoutSeconds: number;
  /** How often `waiting` heartbeats come while no text flows (default 2000 ms). */
  waitingIntervalMs?: number;
  /** The idle-timeout watcher (default: the process-wide one). */
  idle?: IdleWatcher;
}

type Json = Record<string, unknown>;

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

const TICK = Symbol("tick");

/**
 * Streams one native chat. Returns `"missing"` (having yielded only `waiting`) when the server
 * has no `/api/v1/chat`; otherwise ends with exactly one `done` or `error` and returns `"done"`.
 */
export async function* streamNativeChat(
  deps: NativeChatDeps,
  provider: ResolvedProvider,
  body: NativeChatBody,
  signal: AbortSignal,
): AsyncGenerator<StreamEvent, "missing" | "done", undefined> {
  const url = `${provider.baseUrl}/api/v1/chat`;
  const timeoutMs = deps.timeoutSeconds * 1000;
  const ectx: ErrorContext = {
    url,
    inContainer: deps.inContainer,
    timeoutSeconds: deps.timeoutSeconds,
  };
  const interval = deps.waitingIntervalMs ?? 2000;
  const started = deps.now();
  const metrics = startMetrics(body.model, { loadTimeMs: null, api: "native" });
  let counted = 0;
  let firstAt: number | null = null;
  const finish = (): StreamMetrics => {
    metrics.durationMs = round(deps.now() - started);
    if (metrics.tokensPerSecond === null && firstAt !== null && counted > 1) {
      const span = deps.now() - firstAt;
      if (span > 0) metrics.tokensPerSecond = round((counted - 1) / (span / 1000));
    }
    return { ...metrics };
  };
  const fail = (error: UpstreamError): StreamEvent => ({ type: "error", error, metrics: finish() });
  if (signal.aborted) {
    yield fail(cancelledError(provider, ectx));
    return "done";
  }

  const guard = new UpstreamGuard(signal, deps.idle, timeoutMs, provider, ectx);

  // What a heartbeat says while no text flows.
  let waiting: Extract<StreamEvent, { type: "waiting" }> = {
    type: "waiting",
    phase: "connecting",
    elapsedMs: 0,
  };
  const beat = (): StreamEvent => ({ ...waiting, elapsedMs: round(deps.now() - started) });

  /** Awaits `p`, yielding heartbeats every interval until text flows. */
  async function* wait<T>(p: Promise<T>): AsyncGenerator<StreamEvent, T, undefined> {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<typeof TICK>((r) => (timer = setTimeout(() => r(TICK), interval)));
      try {
        const r = await Promise.race([p, tick]);
        if (r !== TICK) return r as T;
      } finally {
        clearTimeout(timer);
      }
      if (firstAt === null) yield beat();
    }
  }

  try {
    const res = yield* wait(deps.fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        ...authHeaders(provider),
      },
      body: JSON.stringify(body),
      signal: guard.upstream,
    }));
    guard.touch();
    const type = res.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream")) {
      // Capped: an error body of any size costs at most MAX_SMALL_BYTES (docs/security.md).
      const text = yield* wait(readUpstreamText(res, MAX_SMALL_BYTES, guard.touch));
      const json = parseUpstreamJson(text);
      const message = (json as { error?: unknown } | undefined)?.error;
      const unexpected = typeof message === "string" && /unexpected endpoint/i.test(message);
      if (res.status === 404 && (unexpected || json === undefined) || res.ok && unexpected) {
        return "missing";
      }
      guard.completed = true;
      yield fail(errorFromHttp(res.status, json ?? text, res.headers, provider, ectx));
      return "done";
    }
    if (!res.body) {
      yield fail(connectionError(provider, ectx, "the stream ended mid-response"));
      return "done";
    }
    const reader = res.body.getReader();
    const splitter = createSseParser();
    let streamError: UpstreamError | null = null;
    let ended = false;
    const handle = function* (ev: SseEvent): Generator<StreamEvent> {
      let data: Json;
      try {
        data = JSON.parse(ev.data);
      } catch {
        streamError ??= errorFromBody(
          "the stream carried an event that is not JSON",
          provider,
          ectx,
        );
        return;
      }
      const name = typeof data.type === "string" ? data.type : ev.event ?? "message";
      switch (name) {
        case "chat.start":
          if (typeof data.model_instance_id === "string") metrics.model = data.model_instance_id;
          break;
        case "model_load.start":
          guard.allow(Math.max(timeoutMs, LOAD_IDLE_MS));
          waiting = {
            type: "waiting",
            phase: "loading",
            elapsedMs: 0,
            progress: 0,
            model: body.model,
          };
          yield beat();
          break;
        case "model_load.end": {
          guard.allow(timeoutMs);
          const s = num(data.load_time_seconds);
          if (s !== null) metrics.loadTimeMs = round(s * 1000);
          if (typeof data.model_instance_id === "string") metrics.model = data.model_instance_id;
          waiting = { ...waiting, progress: 1 };
          yield beat();
          break;
        }
        case "prompt_processing.start":
          waiting = { type: "waiting", phase: "prompt", elapsedMs: 0, progress: 0 };
          yield beat();
          break;
        // Both progress events report a fraction of their phase (docs/lmstudio_native_api.md).
        case "model_load.progress":
        case "prompt_processing.progress":
          waiting = {
            ...waiting,
            phase: name === "model_load.progress" ? "loading" : "prompt",
            progress: num(data.progress) ?? waiting.progress,
          };
          yield beat();
          break;
        case "reasoning.delta":
        case "message.delta":
          if (typeof data.content === "string" && data.content) {
            firstAt ??= deps.now();
            metrics.ttftMs ??= round(firstAt - started);
            counted++;
            yield { type: name === "message.delta" ? "delta" : "reasoning", text: data.content };
          }
          break;
        case "error":
          streamError ??= errorFromBody({ error: data.error }, provider, ectx);
          break;
        case "chat.end": {
          ended = true;
          const result = (data.result ?? {}) as Json;
          const stats = (result.stats ?? {}) as Json;
          if (typeof result.model_instance_id === "string") {
            metrics.model = result.model_instance_id;
          }
          const tps = num(stats.tokens_per_second);
          if (tps !== null && tps > 0) metrics.tokensPerSecond = tps;
          const ttft = num(stats.time_to_first_token_seconds);
          if (ttft !== null && ttft > 0) metrics.ttftMs = round(ttft * 1000);
          const load = num(stats.model_load_time_seconds);
          if (load !== null) metrics.loadTimeMs = round(load * 1000);
          const input = num(stats.input_tokens);
          const output = num(stats.total_output_tokens);
          if (input !== null || output !== null) {
            const usage: Usage = {
              promptTokens: input ?? 0,
              completionTokens: output ?? 0,
              totalTokens: (input ?? 0) + (output ?? 0),
            };
            metrics.usage = usage;
            yield { type: "usage", usage };
          }
          break;
        }
      }
    };
    for (;;) {
      const next = yield* wait(reader.read());
      if (next.done) break;
      guard.touch();
      for (const ev of splitter.push(next.value)) yield* handle(ev);
      if (ended) break;
    }
    if (!ended) { for (const ev of splitter.flush()) yield* handle(ev); }
    const halt = guard.stopped();
    if (halt) {
      yield fail(halt);
      return "done";
    }
    if (streamError) {
      yield fail(streamError);
      return "done";
    }
    if (!ended) {
      yield fail(connectionError(
        provider,
        ectx,
        "the stream ended mid-response, before the server said the answer was finished",
      ));
      return "done";
    }
    guard.completed = true;
    yield { type: "done", finishReason: "stop", metrics: finish() };
    return "done";
  } catch (e) {
    const tooLarge = e instanceof BodyTooLargeError ? toUpstreamError(e, provider, ectx) : null;
    yield fail(guard.stopped() ?? tooLarge ?? connectionError(provider, ectx, networkDetail(e)));
    return "done";
  } finally {
    guard.close();
  }
}
