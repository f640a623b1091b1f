/**
 * Completions as one async generator of typed events, over `fetch` and the provider module's one
 * SSE reader (`sse.ts`) and one idle watcher (`idle.ts`).
 *
 * What is surprising and why it is done here:
 * - `llm.request_timeout` is an *idle* timeout measured between bytes (first token included), not
 *   a limit on the whole request, which would cut a long but healthy stream: every read touches
 *   the watcher, which aborts the request after that long without a byte.
 * - An abort ends reads with an AbortError whatever caused it, so "finished" and "cancelled/timed
 *   out" are told apart by our own flags, never by the kind of exception.
 * - No automatic retry: a retried stream would duplicate text already shown.
 * - A 200 JSON body on the chat endpoint may be an error (LM Studio's "Unexpected endpoint") or
 *   cut short: it is read whole and fails with a typed error instead of yielding nothing.
 * - Errors inside a stream (`data: {"error":{...}}`, or an `event: error`, as llama.cpp sends
 *   them: tests/fixtures/transcripts/llamacpp/07-concurrency-default-np.txt) end it with the
 *   typed error of the one mapping in `errors.ts`.
 */
import {
  cancelledError,
  connectionError,
  type ErrorContext,
  errorFromHttp,
  notConfiguredError,
  ProviderError,
  toUpstreamError,
} from "./errors.ts";
import { chunkOf, completionOf, mapUsage, readAll } from "./chat_wire.ts";
import { MAX_SMALL_BYTES, parseUpstreamJson } from "./http.ts";
import { LOAD_IDLE_MS } from "./idle.ts";
import { type ChatStream, prepareChat } from "./prepare.ts";
import { round, startMetrics } from "./metrics.ts";
import { authHeaders } from "./resolve.ts";
import { UpstreamGuard } from "./upstream_guard.ts";
import { readSse } from "./sse.ts";
import type { StreamEvent, StreamMetrics, UpstreamError } from "./types.ts";

export {
  type ChatBody,
  type ChatStream,
  prepareChat,
  type PreparedChat,
  type StreamDeps,
} from "./prepare.ts";

const TICK = Symbol("tick");

/**
 * Streams one completion as events: `waiting`* while nothing has come, `model` when the server
 * answers with another model than asked, `reasoning`/`delta` text, `usage`, then exactly one
 * `done` or `error` (which keeps the metrics; text already yielded stays valid). Stop it by
 * aborting `signal`: the upstream request is aborted at once in every phase. Breaking out of the
 * loop aborts it too, but only when the generator next yields.
 */
export const streamChat: ChatStream = async function* (deps, provider, req, signal) {
  const s = deps.settings;
  const url = `${provider.apiBase}/chat/completions`;
  const timeoutSeconds = s["llm.request_timeout"];
  const timeoutMs = timeoutSeconds * 1000;
  const ectx: ErrorContext = { url, inContainer: deps.inContainer, timeoutSeconds };
  const interval = deps.waitingIntervalMs ?? 2000;
  const started = deps.now();
  const metrics = startMetrics(null);
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

  const guard = new UpstreamGuard(signal, deps.idle, timeoutMs, provider, ectx);
  let phase: "connecting" | "loading" | "prompt" = "connecting";

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
        yield phase === "loading" && requested
          ? { type: "waiting", phase, elapsedMs: deps.now() - started, model: requested }
          : { type: "waiting", phase, elapsedMs: deps.now() - started };
      }
    }
  }

  const token = () => {
    const t = deps.now();
    if (firstTokenAt === null) {
      firstTokenAt = t;
      metrics.ttftMs = round(t - started);
    }
    lastTokenAt = t;
  };
  let requested: string | null = null;
  let modelSeen = false;
  const seeModel = (m: unknown): StreamEvent | null => {
    if (typeof m !== "string" || m === "" || modelSeen) return null;
    modelSeen = true;
    metrics.model = m;
    return m !== requested ? { type: "model", model: m, requested } : null;
  };

  try {
    const prepared = yield* waitFor(prepareChat(deps, provider, req, guard.upstream));
    requested = prepared.body.model;
    metrics.requestedModel = requested;
    // JIT: LM Studio loads a listed but unloaded model before it answers (silently, on /v1).
    // It sends nothing meanwhile, so the wait for headers gets the load allowance.
    if (prepared.model?.state === "not-loaded") {
      phase = "loading";
      guard.allow(Math.max(timeoutMs, LOAD_IDLE_MS));
    }
    guard.touch();
    const res = yield* waitFor(deps.fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: prepared.body.stream ? "text/event-stream" : "application/json",
        ...authHeaders(provider),
      },
      // top_k / repeat_penalty are LM Studio and llama.cpp extensions; other servers ignore them.
      body: JSON.stringify(prepared.body),
      signal: guard.upstream,
    }));
    if (phase === "loading") guard.allow(timeoutMs);
    guard.touch();
    phase = "prompt";
    ectx.responded = true;
    const type = res.headers.get("content-type") ?? "";
    if (!res.ok) {
      const text = yield* waitFor(readAll(res, guard.touch, MAX_SMALL_BYTES));
      throw new ProviderError(
        errorFromHttp(res.status, parseUpstreamJson(text) ?? text, res.headers, provider, ectx),
      );
    }
    if (!type.includes("text/event-stream") || !res.body) {
      // One JSON document: a non-streamed answer (or a server that ignored `stream`).
      const completion = completionOf(
        yield* waitFor(readAll(res, guard.touch)),
        res,
        provider,
        ectx,
      );
      const ev = seeModel(completion.model);
      if (ev) yield ev;
      const choice = completion.choices?.[0];
      const message = choice?.message ?? {};
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
      guard.completed = true;
      yield { type: "done", finishReason: choice?.finish_reason ?? null, metrics: finishMetrics() };
      return;
    }
    const events = readSse(res.body, guard.touch);
    let finishReason: string | null = null;
    try {
      for (;;) {
        const next = yield* waitFor(events.next());
        if (next.done || next.value.data.startsWith("[DONE]")) break;
        const chunk = chunkOf(next.value, provider, ectx);
        const ev = seeModel(chunk.model);
        if (ev) yield ev;
        for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
          const delta = choice?.delta ?? {};
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
          if (choice?.finish_reason) finishReason = choice.finish_reason;
        }
        const usage = mapUsage(chunk.usage);
        if (usage) {
          metrics.usage = usage;
          yield { type: "usage", usage };
        }
      }
    } finally {
      // Stops reading (cancels the body) without waiting for a read that an abort will end.
      events.return(undefined).catch(() => {});
    }
    const halt = guard.stopped();
    if (halt) {
      yield fail(halt);
      return;
    }
    if (finishReason === null) {
      // Every server we know ends with a finish_reason; a body that ends cleanly without one was
      // cut (a proxy, a crash between frames).
      yield fail(connectionError(
        provider,
        ectx,
        "the stream ended mid-response, before the server said the answer was finished",
      ));
      return;
    }
    guard.completed = true;
    yield { type: "done", finishReason, metrics: finishMetrics() };
  } catch (e) {
    yield fail(guard.stopped() ?? toUpstreamError(e, provider, ectx));
  } finally {
    guard.close();
  }
};
