/**
 * The step runner: takes a run through its mode's pipeline (`pipeline.ts`). Each step gets its
 * progress range, `step` events (running, then done / failed / stopped / skipped) and its record
 * under its own KV key. On a resume, steps that finished are not run again (their stored outputs
 * are the inputs of the next ones); the step that was interrupted or failed re-runs, the text cut
 * back to where it started (or to its last checkpoint). Whatever happens, the run ends with a
 * status and, if a step failed, with the text so far plus an error report, never empty.
 */
import { promptTooLargeError, toUpstreamError } from "../providers/errors.ts";
import type { ResolvedProvider, UpstreamError } from "../providers/types.ts";
import type { Settings } from "../settings/schema.ts";
import { closeRun } from "./launch.ts";
import { createLlmCaller, type ResearchLlm } from "./llm_call.ts";
import type { LiveRun } from "./live.ts";
import { pipelineFor, progressRanges } from "./pipeline.ts";
import type { SourcesDeps } from "../sources/deps.ts";
import { errorReport } from "./report.ts";
import type { PipelineStep, RunStatus } from "./schema.ts";
import { loadSteps, saveStep } from "./step_store.ts";
import {
  type Step,
  type StepContext,
  StepFailure,
  type StepNeeds,
  type StepRecord,
} from "./steps/types.ts";

export type { ResearchLlm } from "./llm_call.ts";

/** What a run needs besides its live state. */
export interface RunnerDeps {
  kv: Deno.Kv;
  llm: ResearchLlm;
  now: () => number;
  /** The run's frozen settings (every step uses these, never the current ones). */
  settings: Settings;
  /** The provider resolved from the frozen settings. */
  provider: ResolvedProvider;
  inContainer: boolean;
  /** Adds the one-click fix to the error a run ends with (lib/research/reload.ts). */
  advise?(error: UpstreamError): Promise<UpstreamError>;
  /** What the sourced steps use (engines' fetch, the Library, embeddings). */
  sources: SourcesDeps;
}

const MESSAGES: Record<RunStatus, string> = {
  completed: "Done",
  failed: "Failed: the text so far and an error report are kept",
  cancelled: "Stopped: the text so far is kept",
  interrupted: "Interrupted by shutdown: the text so far is kept",
  queued: "",
  running: "",
};

/**
 * Runs `live` to completion (or to where it is stopped); never throws for step failures. With
 * `failure` (its server could not be reached when its slot freed) it ends at once with that
 * error's report.
 */
export async function runResearch(
  live: LiveRun,
  deps: RunnerDeps,
  failure?: UpstreamError,
): Promise<void> {
  const r = live.record;
  const entries = pipelineFor(r.mode, r.sources);
  const steps = entries.map((e) => e.step);
  const ranges = progressRanges(entries);
  live.update({ status: "running", startedAt: r.startedAt ?? deps.now() });
  live.emit("status", { status: "running" });
  const stored = await loadSteps(deps.kv, r.id);
  const outputs = new Map<string, unknown>();
  const pipeline: PipelineStep[] = steps.map((s) => ({
    name: s.name,
    label: s.label,
    state: stored.get(s.name)?.state ?? "pending",
  }));
  live.update({ pipeline });
  let percent = r.progress?.percent ?? 0;
  const call = createLlmCaller(live, deps);
  const errCtx = { url: deps.provider.baseUrl, inContainer: deps.inContainer };

  function progress(phase: string, message: string, pct = percent, extra = {}) {
    percent = pct;
    const data = { phase, message, percent: Math.round(pct), ...extra };
    live.update({ progress: data });
    live.emit("progress", data);
  }

  function setState(i: number, rec: StepRecord<unknown>, oldParts: number, error?: UpstreamError) {
    rec.parts = saveStep(live, rec, Math.max(oldParts, rec.parts ?? 0));
    pipeline[i] = { ...pipeline[i], state: rec.state };
    live.update({ pipeline: [...pipeline] });
    const s = steps[i];
    live.emit("step", {
      name: s.name,
      label: s.label,
      state: rec.state,
      index: i,
      of: steps.length,
      ...(rec.reason ? { reason: rec.reason } : {}),
      ...(error ? { error } : {}),
    });
  }

  async function finish(status: RunStatus, error: UpstreamError | null) {
    const m = live.record.metrics;
    if (error && status === "failed") live.emit("error", { ...error, fatal: true });
    live.emit("metrics", {
      ttftMs: m.ttftMs,
      tokensPerSecond: m.tokensPerSecond,
      usage: m.usage,
      model: m.model,
      phase: "total",
      steps: m.steps,
    });
    progress(status, MESSAGES[status], status === "completed" ? 100 : percent);
    await closeRun(live, status, { finishedAt: deps.now(), error: error ?? live.record.error });
  }

  /** Ends the run as failed: the error report after the text so far. */
  async function fail(failure: UpstreamError, step?: string) {
    const error = deps.advise ? await deps.advise(failure).catch(() => failure) : failure;
    const had = live.text.text.trim() !== "";
    const report = errorReport(error, { hadText: had });
    live.edit({ op: "append", text: `${had ? "\n\n---\n\n" : ""}${report}\n` }, step);
    await finish("failed", error);
  }

  if (failure) return await fail(failure);
  for (const [i, step] of steps.entries()) {
    const prev = stored.get(step.name);
    if (prev && (prev.state === "done" || prev.state === "skipped")) {
      outputs.set(step.name, prev.output);
      continue;
    }
    const [from, to] = ranges[i];
    // A re-run starts from the step's last checkpoint, or from where it started.
    const cut = prev ? prev.checkpoint?.textEnd ?? prev.textStart : null;
    if (cut !== null && cut < live.text.text.length) {
      live.edit({ op: "truncate", length: cut }, step.name);
    }
    const rec: StepRecord<unknown> = {
      name: step.name,
      state: "running",
      textStart: prev?.textStart ?? live.text.text.length,
      startedAt: deps.now(),
      finishedAt: null,
      ...(prev?.checkpoint ? { checkpoint: prev.checkpoint } : {}),
    };
    const oldParts = prev?.parts ?? 0;
    let composed: (string | [number, number])[] | null = null;
    const ctx: StepContext = {
      run: { id: r.id, query: r.query, mode: r.mode },
      settings: r.settings,
      config: deps.settings,
      provider: deps.provider,
      signal: live.abort.signal,
      now: deps.now,
      input<I>(s: Step<I, StepNeeds>): I {
        if (!outputs.has(s.name)) throw new Error(`step ${step.name} needs ${s.name}, not run yet`);
        return outputs.get(s.name) as I;
      },
      progress(message, fraction, extra = {}) {
        const pct = fraction === undefined ? percent : from + (to - from) * fraction;
        progress(step.name, message, pct, extra);
      },
      write(text) {
        live.edit({ op: "append", text }, step.name);
      },
      get text() {
        return live.text.text;
      },
      compose(parts) {
        composed = parts;
      },
      llm(messages, opts) {
        return call(messages, { ...opts, phase: step.name }, {
          note: (message, extra) => progress(step.name, message, percent, extra),
          append: (t) => live.text.append(t),
          cut: (n) => live.edit({ op: "truncate", length: live.text.text.length - n }, step.name),
        });
      },
      tooLarge(promptTokens, what) {
        return promptTooLargeError(deps.provider, {
          ...errCtx,
          what,
          model: r.settings.model,
          promptTokens,
          contextLength: r.settings.contextWindow,
        });
      },
      fail(error): never {
        throw new StepFailure(error);
      },
      emit: (type, data) => live.emit(type, data),
      update: (patch) => live.update(patch),
      get record() {
        return live.record;
      },
      checkpoint(value) {
        rec.checkpoint = { value, textEnd: live.text.text.length };
        rec.parts = saveStep(live, rec, Math.max(oldParts, rec.parts ?? 0));
      },
      resumed: prev?.checkpoint?.value,
      put: (key, value) => live.put(key, value),
      sources: deps.sources,
    };

    const inputs = Object.fromEntries(
      Object.entries(step.needs ?? {}).map(([as, s]) => [as, ctx.input(s)]),
    );
    const skip = step.skip?.(ctx, inputs) ?? null;
    if (skip) {
      Object.assign(rec, { state: "skipped", reason: skip.reason, finishedAt: deps.now() });
      rec.output = skip.output;
      outputs.set(step.name, skip.output);
      setState(i, rec, oldParts);
      continue;
    }
    if (prev && step.owns) await clearOwned(live, deps.kv, step.owns(r.id));
    setState(i, rec, oldParts);
    progress(step.name, step.label, from);
    let failure: UpstreamError | null = null;
    try {
      rec.output = await step.run(ctx, inputs);
    } catch (e) {
      failure = e instanceof StepFailure ? e.error : toUpstreamError(e, deps.provider, errCtx);
    }
    rec.finishedAt = deps.now();
    const reason = live.reason;
    if (reason) {
      rec.state = "stopped";
      delete rec.output;
      setState(i, rec, oldParts);
      if (reason === "lost") live.log.close();
      else await finish(reason === "cancel" ? "cancelled" : "interrupted", null);
      return;
    }
    if (failure) {
      rec.state = "failed";
      delete rec.output;
      setState(i, rec, oldParts, failure);
      return await fail(failure, step.name);
    }
    if (composed) live.edit({ op: "compose", parts: composed }, step.name);
    rec.state = "done";
    delete rec.checkpoint;
    outputs.set(step.name, rec.output);
    setState(i, rec, oldParts);
  }
  await finish("completed", null);
}

/** Stages deletes of every key under `prefixes` (an earlier attempt's outputs) into the next
 * flush; a key the re-run writes again is set instead (the later staged write wins). */
async function clearOwned(live: LiveRun, kv: Deno.Kv, prefixes: Deno.KvKey[]): Promise<void> {
  for (const prefix of prefixes) {
    for await (const e of kv.list({ prefix }, { consistency: "strong" })) live.del(e.key);
  }
}
