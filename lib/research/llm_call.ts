/**
 * One streamed LLM call of a research step, with the run's frozen settings: tokens become `delta`
 * events (and, for text the run keeps, part of its text) as they arrive; silences become
 * "waiting" progress notes once a second; reasoning (a provider's reasoning field, or `<think>`
 * blocks in the content, `think_split.ts`) becomes `reasoning` events, never text, with a
 * "thinking" note; the run's first token is announced with its measured time (`first_token`), so
 * the run view shows the real figure while the rest streams; the stream's measurements are summed
 * into the run's metrics. Upstream failures come back as the provider
 * module's typed error, never as a throw.
 */
import { toUpstreamError } from "../providers/errors.ts";
import type {
  ChatMessage,
  ChatRequest,
  ResolvedProvider,
  StreamEvent,
  StreamMetrics,
  UpstreamError,
  Usage,
} from "../providers/types.ts";
import type { Settings } from "../settings/schema.ts";
import { estimateTextTokens, MIN_ANSWER_TOKENS } from "./budget.ts";
import { withFollowUp } from "./follow_up.ts";
import { createThinkSplitter } from "./think_split.ts";
import { waitingProgress } from "./waiting.ts";
import type { LiveRun } from "./live.ts";
import type { RunMetrics } from "./schema.ts";
import type { LlmCallOptions, LlmResult } from "./steps/types.ts";

/** What the runner needs from the provider module. */
export interface ResearchLlm {
  /** A completion stream using `settings` (the run's frozen copy), not the current ones. */
  stream(
    settings: Settings,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncIterable<StreamEvent>;
}

/** Running totals over a run's calls. */
interface Totals {
  ttft: number | null;
  speeds: number[];
  usage: Usage | null;
}

/** What a call reports to the step runner. */
export interface CallHooks {
  /** A progress note at the current percentage. */
  note(message: string, extra: Record<string, unknown>): void;
  /** Streamed text the run keeps. */
  append(text: string): void;
  /** Takes back the last `chars` characters this call appended (they were reasoning after all). */
  cut(chars: number): void;
}

/** The call function steps use, bound to one run. */
export function createLlmCaller(
  live: LiveRun,
  deps: {
    llm: ResearchLlm;
    settings: Settings;
    provider: ResolvedProvider;
    inContainer: boolean;
    now: () => number;
  },
): (messages: ChatMessage[], opts: LlmCallOptions & { phase: string }, hooks: CallHooks) => Promise<
  LlmResult
> {
  const r = live.record;
  // A resumed run continues the totals of its earlier attempts.
  const m0 = r.metrics;
  const totals: Totals = {
    ttft: m0.ttftMs,
    speeds: m0.tokensPerSecond === null ? [] : [m0.tokensPerSecond],
    usage: m0.usage,
  };
  /** The run's first token was announced (this attempt's first call, when none was measured). */
  let announced = false;

  function record(m: StreamMetrics, phase: string, part?: number) {
    if (totals.ttft === null && m.ttftMs !== null) totals.ttft = m.ttftMs;
    if (m.tokensPerSecond !== null) totals.speeds.push(m.tokensPerSecond);
    if (m.usage) {
      const u = totals.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
      totals.usage = {
        promptTokens: u.promptTokens + m.usage.promptTokens,
        completionTokens: u.completionTokens + m.usage.completionTokens,
        totalTokens: u.totalTokens + m.usage.totalTokens,
      };
    }
    const agg: RunMetrics = {
      ttftMs: totals.ttft,
      tokensPerSecond: totals.speeds.length
        ? Math.round(totals.speeds.reduce((a, b) => a + b, 0) / totals.speeds.length * 10) / 10
        : null,
      usage: totals.usage,
      model: m.model ?? live.record.metrics.model,
      steps: live.record.metrics.steps + 1,
    };
    live.update({ metrics: agg });
    if (r.mode === "detailed") {
      live.emit("metrics", {
        ttftMs: m.ttftMs,
        tokensPerSecond: m.tokensPerSecond,
        usage: m.usage,
        model: m.model,
        phase,
        ...(part === undefined ? {} : { step: part }),
      });
    }
  }

  return async (messages, opts, hooks) => {
    const s = r.settings;
    let text = "";
    let lastWait = "";
    let reasoningTokens = 0;
    let lastReasoningNote = 0;
    // Chunks of this call's answer so far: the tokens a late lone `</think>` turns into reasoning.
    let answerChunks = 0;
    const split = createThinkSplitter();
    const started = deps.now();
    let firstSeen = false;
    // A follow-up carries the earlier report (capped when the run started): its tokens come
    // out of this call's answer budget.
    const carried = r.followUp ? estimateTextTokens(r.followUp.report + r.followUp.query) + 64 : 0;
    const request: ChatRequest = {
      provider: s.provider,
      model: s.model,
      messages: withFollowUp(messages, r.followUp),
      temperature: s.temperature,
      maxTokens: Math.max(MIN_ANSWER_TOKENS, opts.maxTokens - carried),
    };
    let error: UpstreamError | null = null;
    let metrics: StreamMetrics | null = null;
    const tag = opts.part === undefined ? {} : { step: opts.part };

    /** The run's first token (of any call) is its time to first token: say it at once. */
    function firstToken() {
      if (firstSeen) return;
      firstSeen = true;
      if (totals.ttft !== null || announced) return;
      announced = true;
      live.emit("first_token", {
        ttftMs: Math.round((deps.now() - started) * 10) / 10,
        phase: opts.phase,
        ...tag,
      });
    }
    function answer(t: string) {
      if (!t) return;
      text += t;
      if (opts.into === "text") hooks.append(t);
      live.emit("delta", { text: t, ...tag, ...(opts.into === "aside" ? { aside: true } : {}) });
    }
    function reasoning(t: string, tokens: number) {
      if (!t) return;
      reasoningTokens += tokens;
      live.emit("reasoning", { text: t, tokens, phase: opts.phase, ...tag });
      const now = deps.now();
      if (now - lastReasoningNote >= 1000) {
        lastReasoningNote = now;
        hooks.note(`The model is thinking… (${reasoningTokens} tokens)`, {
          thinking: true,
          ...tag,
        });
      }
    }
    function content(chunk: string) {
      const piece = split.push(chunk);
      if (piece.lone) {
        // The template opened the block: what this call wrote so far was thinking.
        const moved = text;
        text = "";
        if (moved && opts.into === "text") hooks.cut(moved.length);
        reasoning(moved + piece.reasoning, answerChunks + 1);
        answerChunks = 0;
      } else if (piece.reasoning) reasoning(piece.reasoning, 1);
      if (piece.answer) answerChunks++;
      answer(piece.answer);
    }

    try {
      for await (const ev of deps.llm.stream(deps.settings, request, live.abort.signal)) {
        if (ev.type === "waiting") {
          const w = waitingProgress(ev, s);
          if (w.key === lastWait) continue;
          lastWait = w.key;
          hooks.note(w.message, { ...w.extra, ...tag });
        } else if (ev.type === "delta") {
          firstToken();
          content(ev.text);
        } else if (ev.type === "reasoning") {
          firstToken();
          reasoning(ev.text, 1);
        } else if (ev.type === "model") {
          if (ev.model !== live.record.metrics.model) {
            live.update({ metrics: { ...live.record.metrics, model: ev.model } });
          }
        } else if (ev.type === "done") {
          metrics = ev.metrics;
        } else if (ev.type === "error") {
          error = ev.error;
          metrics = ev.metrics;
        }
      }
    } catch (e) {
      // The provider stream yields its errors; a throw is a bug, still mapped the one way.
      error = toUpstreamError(e, deps.provider, {
        url: deps.provider.baseUrl,
        inContainer: deps.inContainer,
      });
    }
    const rest = split.end();
    reasoning(rest.reasoning, 0);
    answer(rest.answer);
    if (metrics) record(metrics, opts.phase, opts.part);
    return { text, error };
  };
}
