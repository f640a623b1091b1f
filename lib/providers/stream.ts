/**
 * Completions (spec §5) through the `openai` npm client, as one async generator of typed events.
 *
 * What is surprising and why it is done here:
 * - The SDK's own timeout covers the whole request, which would cut a long but healthy stream;
 *   deepstudio's `llm.request_timeout` is an *idle* timeout measured between bytes (first token
 *   included), so the transport is tapped to see every byte and a watchdog aborts on silence.
 * - Aborting the SDK's stream ends `for await` silently, so "finished" and "cancelled/timed out"
 *   are told apart by our own flags, never by the absence of an exception.
 * - No automatic retry (`maxRetries: 0`): a retried stream would duplicate text already shown.
 * - A 200 JSON body on the chat endpoint may be an error (LM Studio's "Unexpected endpoint") or
 *   cut short: the tap reads it and fails with a typed error instead of yielding nothing.
 */
import OpenAI from "openai";
import type { Settings } from "../settings/schema.ts";
import {
  cancelledError,
  connectionError,
  type ErrorContext,
  errorFromHttp,
  noModelError,
  notConfiguredError,
  ProviderError,
  timeoutError,
  toUpstreamError,
} from "./errors.ts";
import {
  createEventCap,
  isErrorBody,
  MAX_ANSWER_BYTES,
  MAX_SMALL_BYTES,
  parseUpstreamJson,
  readUpstreamText,
} from "./http.ts";
import { type IdleWatcher, sharedIdleWatcher } from "./idle.ts";
import type { ModelStore } from "./model_store.ts";
import {
  capMaxTokens,
  chatModels,
  effectiveContextWindow,
  listModels,
  modelFor,
  type ModelList,
} from "./models.ts";
import type {
  ChatRequest,
  ModelInfo,
  ResolvedProvider,
  StreamEvent,
  StreamMetrics,
  UpstreamError,
  Usage,
} from "./types.ts";

/** What `streamChat` needs from the app context. */
export interface StreamDeps {
  fetch: typeof fetch;
  now: () => number;
  settings: Settings;
  inContainer: boolean;
  /** The model store (the provider service passes its own); without one every call lists. */
  models?: ModelStore;
  /** The idle-timeout watcher (default: the process-wide one). */
  idle?: IdleWatcher;
  /** How often `waiting` events come while the first token has not arrived (default 2000 ms). */
  waitingIntervalMs?: number;
}

/** The request body deepstudio sends, before the SDK sees it (exported for tests and gateway). */
export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature: number;
  stream: boolean;
  max_tokens?: number;
  top_k?: number;
  repeat_penalty?: number;
  stream_options?: { include_usage: boolean };
}

/** Options of the provider-side completion, resolved from the request and settings. */
export interface PreparedChat {
  body: ChatBody;
  /** The model entry the request will use, when the server listed it. */
  model: ModelInfo | null;
  contextWindow: number | null;
}

const TICK = Symbol("tick");
const MAX_TIMER_MS = 2_000_000_000;

/**
 * Chooses the model and builds the body (spec §5): model defaulting, max_tokens capped to 80 % of
 * the effective context window (omitted when `llm.supports_max_tokens` is false), temperature,
 * top_k / repeat_penalty only when set, include_usage for streams. Throws `ProviderError`.
 */
export async function prepareChat(
  deps: StreamDeps,
  provider: ResolvedProvider,
  req: ChatRequest,
  signal?: AbortSignal,
): Promise<PreparedChat> {
  const s = deps.settings;
  const url = `${provider.apiBase}/chat/completions`;
  const ectx: ErrorContext = { url, inContainer: deps.inContainer };
  let model = (req.model ?? s["llm.model"] ?? "").trim();
  let list: ModelList | null = null;
  try {
    list = await listModels(deps, provider, {
      signal,
      timeoutMs: Math.min(5000, s["llm.request_timeout"] * 1000),
    });
  } catch (e) {
    const error = toUpstreamError(e, provider, ectx);
    // Without a list the request can still work when a model is named; a dead server cannot.
    if (
      !model || ["connection", "timeout", "authentication", "cancelled"].includes(error.kind)
    ) {
      throw new ProviderError(error);
    }
  }
  const chat = list ? chatModels(list.models) : [];
  const loaded = chat.filter((m) => m.state === "loaded");
  if (!model) {
    const candidates = loaded.length ? loaded : chat.filter((m) => m.state === "unknown");
    if (candidates.length !== 1) {
      throw new ProviderError(
        noModelError(provider, ectx, candidates.length ? candidates.map((m) => m.id) : []),
      );
    }
    model = candidates[0].id;
  }
  // LM Studio and llama.cpp answer with their one loaded model whatever is asked: size for it.
  const info = modelFor(list, provider, model);
  const contextWindow = effectiveContextWindow(s, provider, info);
  const stream = req.stream ?? s["llm.streaming"];
  const body: ChatBody = {
    model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: req.temperature ?? s["llm.temperature"],
    stream,
  };
  if (s["llm.supports_max_tokens"]) {
    body.max_tokens = capMaxTokens(req.maxTokens ?? s["llm.max_tokens"], contextWindow);
  }
  const topK = req.topK !== undefined ? req.topK : s["llm.top_k"];
  if (topK !== null && topK !== undefined) body.top_k = topK;
  const penalty = req.repeatPenalty !== undefined ? req.repeatPenalty : s["llm.repetition_penalty"];
  if (penalty !== null && penalty !== undefined) body.repeat_penalty = penalty;
  if (stream) body.stream_options = { include_usage: true };
  return { body, model: info, contextWindow };
}

/**
 * Streams one completion as events: `waiting`* while nothing has come, `model` when the server
 * answers with another model than asked, `reasoning`/`delta` text, `usage`, then exactly one
 * `done` or `error` (which keeps the metrics; text already yielded stays valid). Stop it by
 * aborting `signal`: the upstream request is aborted at once in every phase. Breaking out of the
 * loop aborts it too, but only when the generator next yields.
 */
export async function* streamChat(
  deps: StreamDeps,
  provider: ResolvedProvider,
  req: ChatRequest,
  signal: AbortSignal,
): AsyncGenerator<StreamEvent, void, undefined> {
  const s = deps.settings;
  const url = `${provider.apiBase}/chat/completions`;
  const timeoutSeconds = s["llm.request_timeout"];
  const timeoutMs = timeoutSeconds * 1000;
  const ectx: ErrorContext = { url, inContainer: deps.inContainer, timeoutSeconds };
  const interval = deps.waitingIntervalMs ?? 2000;
  const started = deps.now();
  const metrics: StreamMetrics = {
    ttftMs: null,
    tokensPerSecond: null,
    usage: null,
    model: null,
    requestedModel: null,
    durationMs: 0,
  };
  let firstTokenAt: number | null = null;
  let lastTokenAt: number | null = null;
  let counted = 0;
  const finishMetrics = (): StreamMetrics => {
    const end = deps.now();
    metrics.durationMs = round(end - started);
    const tokens = metrics.usage?.completionTokens ?? counted;
    if (firstTokenAt !== null && tokens > 0) {
      // Generation speed: tokens after the first over the time since the first (the first token
      // includes prompt processing); a one-shot (non-stream) answer uses the whole duration.
      const span = (lastTokenAt ?? end) - firstTokenAt;
      metrics.tokensPerSecond = span > 0 && tokens > 1
        ? round((tokens - 1) / (span / 1000))
        : metrics.durationMs > 0
        ? round(tokens / (metrics.durationMs / 1000))
        : null;
    }
    return { ...metrics };
  };
  const fail = (error: UpstreamError): StreamEvent => ({
    type: "error",
    error,
    metrics: finishMetrics(),
  });

  if (!provider.baseUrl) {
    yield fail(notConfiguredError(provider));
    return;
  }
  if (signal.aborted) {
    yield fail(cancelledError(provider, ectx));
    return;
  }

  const upstream = new AbortController();
  let idleFired = false;
  let completed = false;
  const onAbort = () => upstream.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const idle = (deps.idle ?? sharedIdleWatcher()).watch(timeoutMs, () => {
    if (completed || upstream.signal.aborted) return;
    idleFired = true;
    upstream.abort();
  });
  const touch = () => idle.touch();
  const stopped = (): UpstreamError | null =>
    idleFired
      ? timeoutError(provider, ectx)
      : signal.aborted || upstream.signal.aborted
      ? cancelledError(provider, ectx)
      : null;
  let phase: "connecting" | "prompt" = "connecting";

  /** Awaits `p`, yielding `waiting` events every interval until the first token. */
  async function* waitFor<T>(p: Promise<T>): AsyncGenerator<StreamEvent, T, undefined> {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<typeof TICK>((r) => timer = setTimeout(() => r(TICK), interval));
      try {
        const r = await Promise.race([p, tick]);
        if (r !== TICK) return r as T;
      } finally {
        clearTimeout(timer);
      }
      if (firstTokenAt === null) {
        yield { type: "waiting", phase, elapsedMs: deps.now() - started };
      }
    }
  }

  const tap = makeTap(deps.fetch, provider, ectx, touch, () => phase = "prompt");
  const client = new OpenAI({
    apiKey: provider.apiKey ?? "unused",
    baseURL: provider.apiBase,
    fetch: tap,
    maxRetries: 0,
    timeout: MAX_TIMER_MS,
    logLevel: "off",
    organization: null,
    project: null,
    webhookSecret: null,
    dangerouslyAllowBrowser: true,
    defaultHeaders: provider.apiKey ? undefined : { authorization: null },
  });

  try {
    const prepared = yield* waitFor(prepareChat(deps, provider, req, upstream.signal));
    const requested = prepared.body.model;
    metrics.requestedModel = requested;
    let modelSeen = false;
    const seeModel = (m: unknown): StreamEvent | null => {
      if (typeof m !== "string" || m === "" || modelSeen) return null;
      modelSeen = true;
      metrics.model = m;
      return m !== requested ? { type: "model", model: m, requested } : null;
    };
    const token = () => {
      const t = deps.now();
      if (firstTokenAt === null) {
        firstTokenAt = t;
        metrics.ttftMs = round(t - started);
      }
      lastTokenAt = t;
    };
    touch();
    // top_k / repeat_penalty are LM Studio and llama.cpp extensions the SDK's types do not know.
    const body = prepared.body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    if (!prepared.body.stream) {
      const completion = yield* waitFor<OpenAI.Chat.ChatCompletion>(
        client.chat.completions.create({ ...body, stream: false }, { signal: upstream.signal }),
      );
      const ev = seeModel(completion.model);
      if (ev) yield ev;
      const choice = completion.choices?.[0];
      // deno-lint-ignore no-explicit-any
      const message = (choice?.message ?? {}) as any;
      const reasoning = message.reasoning ?? message.reasoning_content;
      if (typeof reasoning === "string" && reasoning) {
        token();
        yield { type: "reasoning", text: reasoning };
      }
      if (typeof message.content === "string" && message.content) {
        token();
        counted++;
        yield { type: "delta", text: message.content };
      }
      firstTokenAt = started; // one-shot answer: speed over the whole request
      const usage = mapUsage(completion.usage);
      if (usage) {
        metrics.usage = usage;
        yield { type: "usage", usage };
      }
      completed = true;
      yield { type: "done", finishReason: choice?.finish_reason ?? null, metrics: finishMetrics() };
      return;
    }
    const stream = yield* waitFor<AsyncIterable<OpenAI.Chat.ChatCompletionChunk>>(
      client.chat.completions.create({ ...body, stream: true }, { signal: upstream.signal }),
    );
    const iterator = stream[Symbol.asyncIterator]();
    let finishReason: string | null = null;
    for (;;) {
      const next: IteratorResult<OpenAI.Chat.ChatCompletionChunk> = yield* waitFor(
        iterator.next(),
      );
      if (next.done) break;
      // deno-lint-ignore no-explicit-any
      const chunk = next.value as any;
      const ev = seeModel(chunk.model);
      if (ev) yield ev;
      for (const choice of chunk.choices ?? []) {
        const delta = choice.delta ?? {};
        const reasoning = delta.reasoning ?? delta.reasoning_content;
        if (typeof reasoning === "string" && reasoning) {
          token();
          counted++;
          yield { type: "reasoning", text: reasoning };
        }
        if (typeof delta.content === "string" && delta.content) {
          token();
          counted++;
          yield { type: "delta", text: delta.content };
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      const usage = mapUsage(chunk.usage);
      if (usage) {
        metrics.usage = usage;
        yield { type: "usage", usage };
      }
    }
    const halt = stopped();
    if (halt) {
      yield fail(halt);
      return;
    }
    if (finishReason === null) {
      // Every server we know ends with a finish_reason; a body that ends cleanly without one was
      // cut (a proxy, a crash between frames), and the SDK cannot tell us [DONE] was missing.
      yield fail(connectionError(
        provider,
        ectx,
        "the stream ended mid-response, before the server said the answer was finished",
      ));
      return;
    }
    completed = true;
    yield { type: "done", finishReason, metrics: finishMetrics() };
  } catch (e) {
    yield fail(stopped() ?? toUpstreamError(e, provider, ectx));
  } finally {
    idle.stop();
    signal.removeEventListener("abort", onAbort);
    if (!completed) upstream.abort();
  }
}

/** Sees every byte (for the idle timeout) and turns 200 JSON error or cut bodies into errors. */
function makeTap(
  fetchFn: typeof fetch,
  provider: ResolvedProvider,
  ectx: ErrorContext,
  touch: () => void,
  onHeaders: () => void,
): typeof fetch {
  return async (input, init) => {
    const res = await fetchFn(input, init);
    touch();
    onHeaders();
    const type = res.headers.get("content-type") ?? "";
    const fail = (e: unknown) => new ProviderError(toUpstreamError(e, provider, ectx));
    if (!res.ok) {
      // Error bodies are read here, capped, not by the SDK (which reads them whole).
      const text = await readUpstreamText(res, MAX_SMALL_BYTES, touch).catch((e) => {
        throw fail(e);
      });
      const json = parseUpstreamJson(text);
      throw new ProviderError(errorFromHttp(res.status, json ?? text, res.headers, provider, ectx));
    }
    if (!type.includes("text/event-stream")) {
      const text = await readUpstreamText(res, MAX_ANSWER_BYTES, touch).catch((e) => {
        throw fail(e);
      });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ProviderError(
          toUpstreamError(
            new SyntaxError(
              text.trim() === ""
                ? "empty body"
                : /^\s*</.test(text)
                ? "an HTML page instead of JSON"
                : "the JSON body was cut short or is not JSON",
            ),
            provider,
            ectx,
          ),
        );
      }
      if (isErrorBody(json) && !(json as { choices?: unknown }).choices) {
        throw new ProviderError(errorFromHttp(res.status, json, res.headers, provider, ectx));
      }
      return new Response(text, { status: res.status, headers: res.headers });
    }
    if (!res.body) return res;
    const cap = createEventCap();
    const observed = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          touch();
          try {
            cap(chunk); // one event larger than any chat chunk: stop before holding more
          } catch (e) {
            throw fail(e);
          }
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(observed, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
}

function mapUsage(u: unknown): Usage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const promptTokens = n(x.prompt_tokens);
  const completionTokens = n(x.completion_tokens);
  return {
    promptTokens,
    completionTokens,
    totalTokens: n(x.total_tokens) || promptTokens + completionTokens,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
