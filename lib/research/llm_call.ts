/**
 * One streamed LLM call of a research step, with the run's frozen settings: tokens become `delta`
 * events (and, for text the run keeps, part of its text) as they arrive; silences become
 * "waiting" progress notes once a second; reasoning becomes a "thinking" note; the stream's
 * measurements are summed into the run's metrics. Upstream failures come back as the provider
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
    let reasoningChars = 0;
    let lastReasoningNote = 0;
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
    try {
      for await (const ev of deps.llm.stream(deps.settings, request, live.abort.signal)) {
        if (ev.type === "waiting") {
          const w = waitingProgress(ev, s);
          if (w.key === lastWait) continue;
          lastWait = w.key;
          hooks.note(w.message, { ...w.extra, ...tag });
        } else if (ev.type === "delta") {
          text += ev.text;
          if (opts.into === "text") hooks.append(ev.text);
          live.emit("delta", {
            text: ev.text,
            ...tag,
            ...(opts.into === "aside" ? { aside: true } : {}),
          });
        } else if (ev.type === "reasoning") {
          reasoningChars += ev.text.length;
          const t = deps.now();
          if (t - lastReasoningNote >= 1000) {
            lastReasoningNote = t;
            hooks.note(`The model is thinking… (${reasoningChars} characters)`, {
              thinking: true,
              ...tag,
            });
          }
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
    if (metrics) record(metrics, opts.phase, opts.part);
    return { text, error };
  };
}
