/**
 * Runs one research run to its end. Quick: one streamed answer. Detailed: plan sub-questions,
 * answer each (streamed with its `step`), then synthesise a report, every prompt sized to the
 * effective context window first. Whatever happens, the run ends with a status and, if an LLM
 * call failed, with the text so far plus an error report (the seed's fallback), never empty.
 */
import type {
  ChatMessage,
  ChatRequest,
  StreamEvent,
  StreamMetrics,
  UpstreamError,
  Usage,
} from "../providers/types.ts";
import {
  answerBudget,
  estimatePromptTokens,
  estimateTextTokens,
  fitFindings,
  MIN_ANSWER_TOKENS,
} from "./budget.ts";
import type { LiveRun } from "./live.ts";
import { parsePlan } from "./plan.ts";
import {
  fallbackSubquestions,
  type Finding,
  MIN_SUBQUESTIONS,
  planPrompt,
  quickPrompt,
  subquestionPrompt,
  synthesisPrompt,
} from "./prompts.ts";
import { withFollowUp } from "./follow_up.ts";
import { errorReport, stepFailureNote } from "./report.ts";
import type { RunMetrics, RunStatus, RunStep } from "./schema.ts";
import { waitingProgress } from "./waiting.ts";

/** What the runner needs from the provider module. */
export interface ResearchLlm {
  /** A completion stream with settings (timeouts, top_k, caps) applied by the provider module. */
  stream(request: ChatRequest, signal: AbortSignal): AsyncIterable<StreamEvent>;
}

/** Error kinds after which further calls in the same run would fail the same way. */
const FATAL_KINDS = new Set(["connection", "authentication", "model_not_found", "cancelled"]);

/** Largest plan answer; a list of five questions needs far less. */
const PLAN_MAX_TOKENS = 600;

interface StepResult {
  text: string;
  error: UpstreamError | null;
  metrics: StreamMetrics | null;
}

/** Runs `live` to completion; never throws for LLM failures. */
export async function runResearch(
  live: LiveRun,
  deps: { llm: ResearchLlm; now: () => number },
): Promise<void> {
  const r = live.record;
  live.update({ status: "running", startedAt: deps.now() });
  live.emit("status", { status: "running" });
  let percent = 0;
  const progress = (phase: string, message: string, pct = percent, extra = {}) => {
    percent = pct;
    const data = { phase, message, percent: Math.round(pct), ...extra };
    live.update({ progress: data });
    live.emit("progress", data);
  };
  const totals = {
    ttft: null as number | null,
    speeds: [] as number[],
    usage: null as Usage | null,
  };

  /** One streamed LLM call; deltas go to events (and `onText`) as they arrive. */
  async function call(
    messages: ChatMessage[],
    opts: { step?: number; maxTokens: number; phase: string; onText?: (t: string) => void },
  ): Promise<StepResult> {
    const signal = live.abort.signal;
    let text = "";
    let lastWait = "";
    let reasoningChars = 0;
    let lastReasoningNote = 0;
    // A follow-up carries the earlier report (capped when the run started): its tokens come
    // out of this call's answer budget.
    const carried = r.followUp ? estimateTextTokens(r.followUp.report + r.followUp.query) + 64 : 0;
    const request: ChatRequest = {
      provider: r.settings.provider,
      model: r.settings.model,
      messages: withFollowUp(messages, r.followUp),
      temperature: r.settings.temperature,
      maxTokens: Math.max(MIN_ANSWER_TOKENS, opts.maxTokens - carried),
    };
    let error: UpstreamError | null = null;
    let metrics: StreamMetrics | null = null;
    try {
      for await (const ev of deps.llm.stream(request, signal)) {
        if (ev.type === "waiting") {
          const w = waitingProgress(ev, r.settings);
          if (w.key === lastWait) continue;
          lastWait = w.key;
          progress(opts.phase, w.message, percent, { ...w.extra, step: opts.step });
        } else if (ev.type === "delta") {
          text += ev.text;
          opts.onText?.(ev.text);
          live.emit(
            "delta",
            opts.step === undefined ? { text: ev.text } : {
              text: ev.text,
              step: opts.step,
            },
          );
        } else if (ev.type === "reasoning") {
          reasoningChars += ev.text.length;
          const t = deps.now();
          if (t - lastReasoningNote >= 1000) {
            lastReasoningNote = t;
            progress(opts.phase, `The model is thinking… (${reasoningChars} characters)`, percent, {
              thinking: true,
              step: opts.step,
            });
          }
        } else if (ev.type === "model") {
          if (ev.model !== r.metrics.model) {
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
      // The provider stream yields its errors; a throw is a bug, still reported as a failure.
      error = {
        kind: "server_error",
        title: "Server Error",
        message: `The request to ${r.settings.providerName} at ${r.settings.baseUrl} failed: ${
          (e as Error)?.message ?? String(e)
        }`,
        hint: "Retry; if it keeps failing, deepstudio's log has the details.",
        provider: r.settings.provider,
        url: r.settings.baseUrl,
      };
    }
    if (metrics) record(metrics, opts.phase, opts.step);
    return { text, error, metrics };
  }

  function record(m: StreamMetrics, phase: string, step?: number) {
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
        ...(step === undefined ? {} : { step }),
      });
    }
  }

  function tokenLimit(promptTokens: number, what: string): UpstreamError {
    return {
      kind: "token_limit",
      title: "Token Limit Exceeded",
      message:
        `The ${what} needs about ${promptTokens} tokens, but ${r.settings.model} on ${r.settings.providerName} (${r.settings.baseUrl}) has a context of ${r.settings.contextWindow} tokens, which leaves no room for an answer`,
      hint:
        "Reload the model with a larger context length (LM Studio: model settings → Context Length) or ask a shorter question",
      provider: r.settings.provider,
      url: r.settings.baseUrl,
      promptTokens,
      contextLength: r.settings.contextWindow,
    };
  }

  async function finish(status: RunStatus, error: UpstreamError | null, step?: number) {
    const m = live.record.metrics;
    if (error && status === "failed") live.emit("error", { ...error, step, fatal: true });
    live.emit("metrics", {
      ttftMs: m.ttftMs,
      tokensPerSecond: m.tokensPerSecond,
      usage: m.usage,
      model: m.model,
      phase: "total",
      steps: m.steps,
    });
    const message = {
      completed: "Done",
      failed: "Failed: the text so far and an error report are kept",
      cancelled: "Stopped: the text so far is kept",
      interrupted: "Interrupted by shutdown: the text so far is kept",
      queued: "",
      running: "",
    }[status];
    progress(status, message, status === "completed" ? 100 : percent);
    live.update({
      status,
      finishedAt: deps.now(),
      error: error ?? live.record.error,
    });
    live.emit("status", { status });
    live.emit("done", { status });
    await live.close();
  }

  /** How an aborted run ends: cancelled by the person, interrupted by shutdown, or not at all. */
  async function stopped(): Promise<boolean> {
    const reason = live.reason;
    if (!reason) return false;
    if (reason === "lost") live.log.close();
    else await finish(reason === "cancel" ? "cancelled" : "interrupted", null);
    return true;
  }

  async function fail(error: UpstreamError, step?: number) {
    const had = live.text.text.trim() !== "";
    live.text.append(`${had ? "\n\n---\n\n" : ""}${errorReport(error, { hadText: had })}\n`);
    await finish("failed", error, step);
  }

  const cfg = {
    contextWindow: r.settings.contextWindow,
    maxTokens: r.settings.maxTokens,
  };

  if (r.mode === "quick") {
    const messages = quickPrompt(r.query);
    const prompt = estimatePromptTokens(messages);
    const max = answerBudget(prompt, cfg);
    if (max === null) return await fail(tokenLimit(prompt, "question"));
    progress("answer", `Asking ${r.settings.model} on ${r.settings.providerName}`, 5);
    const res = await call(messages, {
      maxTokens: max,
      phase: "answer",
      onText: (t) => live.text.append(t),
    });
    if (await stopped()) return;
    if (res.error) return await fail(res.error);
    return await finish("completed", null);
  }

  // Detailed: 1. plan
  progress("plan", `Planning sub-questions with ${r.settings.model}`, 2);
  const planMessages = planPrompt(r.query);
  const planPromptTokens = estimatePromptTokens(planMessages);
  const planMax = answerBudget(planPromptTokens, { ...cfg, cap: PLAN_MAX_TOKENS });
  if (planMax === null) return await fail(tokenLimit(planPromptTokens, "question"));
  const plan = await call(planMessages, { step: 0, maxTokens: planMax, phase: "plan" });
  if (await stopped()) return;
  if (plan.error) return await fail(plan.error);
  let questions = parsePlan(plan.text);
  if (questions.length < MIN_SUBQUESTIONS) {
    const extra = fallbackSubquestions(r.query).slice(0, MIN_SUBQUESTIONS - questions.length);
    progress(
      "plan",
      questions.length === 0
        ? "Could not read sub-questions from the model's plan; using general ones instead"
        : `The plan had only ${questions.length} sub-question(s); added general ones`,
      8,
    );
    questions = [...questions, ...extra];
  }
  const steps: RunStep[] = questions.map((question, i) => ({
    index: i + 1,
    question,
    status: "pending",
  }));
  live.update({ steps });
  progress("plan", `Plan: ${questions.length} sub-questions`, 10, { questions });

  // 2. answer each sub-question
  const findings: Finding[] = [];
  let notes = "## Research notes\n\n";
  live.text.append(notes);
  let lastError: UpstreamError | null = null;
  const span = 60 / questions.length;
  for (const [i, q] of questions.entries()) {
    const n = i + 1;
    const step = steps[i];
    if (lastError && FATAL_KINDS.has(lastError.kind)) {
      step.status = "skipped";
      continue;
    }
    step.status = "running";
    live.update({ steps });
    progress("research", `Sub-question ${n} of ${questions.length}: ${q}`, 10 + span * i, {
      step: n,
    });
    const heading = `### ${n}. ${q}\n\n`;
    notes += heading;
    live.text.append(heading);
    const messages = subquestionPrompt(r.query, q, n, questions.length);
    const prompt = estimatePromptTokens(messages);
    const max = answerBudget(prompt, {
      ...cfg,
      cap: Math.max(MIN_ANSWER_TOKENS, Math.floor(cfg.contextWindow / 4)),
    });
    const res: StepResult = max === null
      ? { text: "", error: tokenLimit(prompt, `sub-question ${n}`), metrics: null }
      : await call(messages, {
        step: n,
        maxTokens: max,
        phase: "research",
        onText: (t) => live.text.append(t),
      });
    notes += res.text;
    if (await stopped()) return;
    if (res.error) {
      lastError = res.error;
      step.status = "failed";
      step.error = res.error;
      const note = `${res.text ? "\n\n" : ""}${stepFailureNote(res.error)}\n\n`;
      notes += note;
      live.text.append(note);
      live.update({ steps, error: live.record.error ?? res.error });
      live.emit("error", { ...res.error, step: n, fatal: false });
      progress(
        "research",
        `Sub-question ${n} failed (${res.error.title}); continuing with what we have`,
        10 + span * n,
        { step: n },
      );
      findings.push({ question: q, answer: res.text, failed: res.text.trim() === "" });
    } else {
      step.status = "done";
      live.update({ steps });
      notes += "\n\n";
      live.text.append("\n\n");
      findings.push({ question: q, answer: res.text });
    }
  }
  // No material, or a failure that every further call would repeat: end with what we have.
  if (!findings.some((f) => !f.failed) || (lastError && FATAL_KINDS.has(lastError.kind))) {
    return await fail(lastError ?? tokenLimit(0, "research"));
  }

  // 3. synthesis, with the findings fitted to the context
  const reserve = Math.min(
    cfg.maxTokens,
    Math.max(MIN_ANSWER_TOKENS, Math.floor(cfg.contextWindow * 0.4)),
  );
  const fitted = fitFindings(
    findings,
    cfg.contextWindow - reserve,
    (f) => synthesisPrompt(r.query, f),
  );
  if (!fitted) {
    return await fail(
      tokenLimit(estimatePromptTokens(synthesisPrompt(r.query, [])), "report prompt"),
    );
  }
  if (fitted.trimmed) {
    progress(
      "synthesis",
      `The findings are longer than ${r.settings.model}'s ${cfg.contextWindow}-token context allows; trimmed the longest ones to fit`,
      70,
      { trimmed: true },
    );
  }
  progress("synthesis", "Writing the report", 72);
  const messages = synthesisPrompt(r.query, fitted.findings);
  const prompt = estimatePromptTokens(messages);
  const max = answerBudget(prompt, cfg);
  if (max === null) return await fail(tokenLimit(prompt, "report prompt"));
  live.text.append("---\n\n## Report\n\n");
  const report = await call(messages, {
    maxTokens: max,
    phase: "synthesis",
    onText: (t) => live.text.append(t),
  });
  if (await stopped()) return;
  if (report.error) return await fail(report.error);
  // Success: the report first, the notes behind it as an appendix.
  live.text.replace(`${report.text.trim()}\n\n---\n\n${notes.trim()}\n`);
  await finish("completed", null);
}
