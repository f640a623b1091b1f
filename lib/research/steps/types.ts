/**
 * The step interface of the research pipeline. A run is a list of steps (`pipeline.ts`, which
 * also gives each its share of the progress bar); each step is one file exporting a `Step<O>`: a
 * name, a label, the earlier steps it `needs` and a `run` that receives their outputs and returns
 * its own.
 * The step runner (`runner.ts`) gives each step its progress range and `step` events, stores
 * each output under its own KV key (`runStepKey`), and on a resume reuses the outputs of steps
 * that finished and re-runs the one that was interrupted or failed.
 */
import type { KvKeyOf } from "../../kv/keys.ts";
import type { ChatMessage, ResolvedProvider, UpstreamError } from "../../providers/types.ts";
import type { Settings } from "../../settings/schema.ts";
import type { SourcesDeps } from "../../sources/deps.ts";
import type { RunEvent, RunEventData, RunEventType, RunRecord, RunSettings } from "../schema.ts";

/** Where a step is: the states its `step` events carry and its stored record holds. */
export type StepState = "running" | "done" | "stopped" | "failed" | "skipped";

/** What `runStepKey(id, name)` holds. */
export interface StepRecord<O> {
  name: string;
  state: StepState;
  /** Length of the run's text when the step (last) started: a re-run cuts the text back here. */
  textStart: number;
  startedAt: number;
  finishedAt: number | null;
  /** The output, when it fits one KV value; otherwise `parts` JSON pieces under `runStepPartKey`. */
  output?: O;
  parts?: number;
  /** Why the step was skipped. */
  reason?: string;
  /** Work saved mid-step (`ctx.checkpoint`): a re-run continues from here, text cut to `textEnd`. */
  checkpoint?: { value: unknown; textEnd: number };
}

/** One streamed LLM call's outcome: the text it produced (even when it failed) and the error. */
export interface LlmResult {
  text: string;
  error: UpstreamError | null;
}

/** Options of `ctx.llm`. */
export interface LlmCallOptions {
  maxTokens: number;
  /** Sub-question number tagged on deltas and waiting notes (0: the plan). */
  part?: number;
  /** "text": tokens are part of the run's text; "aside": shown live but not kept (a plan). */
  into: "text" | "aside";
}

/** A thrown failure that ends the run with its error report (use `ctx.fail`). */
export class StepFailure extends Error {
  constructor(readonly error: UpstreamError) {
    super(error.message);
    this.name = "StepFailure";
  }
}

/** What a step may use; everything a run needs is frozen at its start. */
export interface StepContext {
  readonly run: Readonly<Pick<RunRecord, "id" | "query" | "mode">>;
  /** The run's frozen settings summary (provider, model, context window, …). */
  readonly settings: Readonly<RunSettings>;
  /** Every setting as it was when the run started (engines, limits, …). */
  readonly config: Readonly<Settings>;
  /** The provider with the frozen URL and key. */
  readonly provider: ResolvedProvider;
  /** Aborted on cancel, shutdown, or when another process took the run. */
  readonly signal: AbortSignal;
  now(): number;
  /** The output of an earlier step of this pipeline (prefer `needs`; this is for a choice at run time). */
  input<I>(step: Step<I, StepNeeds>): I;
  /** A progress note; `fraction` (0..1) is how far into this step's range the run is. */
  progress(message: string, fraction?: number, extra?: Record<string, unknown>): void;
  /** Appends non-streamed text (a heading, a note) to the run's text. */
  write(text: string): void;
  /** The run's text so far. */
  readonly text: string;
  /**
   * Rebuilds the text from new strings and `[start, end]` slices of the current text, applied
   * when the step finishes successfully, in the same write that marks it done (so a restart
   * never sees a rearranged text with the step unfinished).
   */
  compose(parts: (string | [number, number])[]): void;
  /** A streamed completion with the frozen settings; never throws for upstream failures. */
  llm(messages: ChatMessage[], opts: LlmCallOptions): Promise<LlmResult>;
  /** A `token_limit` error for a prompt measured too large before sending. */
  tooLarge(promptTokens: number, what: string): UpstreamError;
  /** Ends the run as failed with `error` and its report. */
  fail(error: UpstreamError): never;
  /** Emits a step-specific event (sub-question errors, sources, …). */
  emit<T extends RunEventType>(type: T, data: RunEventData[T]): RunEvent;
  /** Changes the run record (small, shown in lists: sub-question states, the first error). */
  update(patch: Partial<RunRecord>): void;
  readonly record: Readonly<RunRecord>;
  /** Saves progress within the step; written with the run's next flush. */
  checkpoint(value: unknown): void;
  /** The last checkpoint of an interrupted earlier attempt of this step, if any. */
  readonly resumed: unknown;
  /** Search engines' fetch, the Library's search, embeddings (the sourced steps). */
  readonly sources: SourcesDeps;
  /** Stores a value under its own typed key in the run's next flush (sources, passages, …). */
  put<V>(key: KvKeyOf<V>, value: V): void;
}

/** Any step, whatever it produces and needs (what a pipeline lists). */
export type AnyStep = Step<unknown, StepNeeds>;

/** The earlier steps a step reads, under the names its `run` receives their outputs by. */
export interface StepNeeds {
  readonly [as: string]: AnyStep;
}

/** The outputs of the steps in `N`, under the same names. */
export type StepInputs<N extends StepNeeds> = {
  readonly [K in keyof N]: N[K] extends Step<infer O, StepNeeds> ? O : never;
};

/** A pipeline step producing `O` from the outputs of the steps in `N`. */
export interface Step<O, N extends StepNeeds = Record<never, never>> {
  /** Stable id: the KV key, the `step` events' `name`, never shown. */
  readonly name: string;
  /** What the run view shows. */
  readonly label: string;
  /**
   * The earlier steps whose outputs `run` receives; a pipeline that does not list them before
   * this step is refused when it is built (`pipeline()`), not halfway through a run.
   */
  readonly needs?: N;
  /** A reason to skip this step and the output it then has, or null to run it. */
  skip?(ctx: StepContext, inputs: StepInputs<N>): { reason: string; output: O } | null;
  /**
   * KV prefixes this step writes under (besides its record): when the step re-runs (resume,
   * retry), whatever an earlier attempt left there is deleted in the same atomic write that
   * marks the step running again, so a re-run with fewer results leaves no stale entries.
   */
  owns?(runId: string): Deno.KvKey[];
  run(ctx: StepContext, inputs: StepInputs<N>): Promise<O>;
}

/** A step whose `run` gets the outputs of its `needs` typed by name (inferred from `needs`). */
export function defineStep<O, N extends StepNeeds = Record<never, never>>(
  step: Step<O, N>,
): Step<O, N> {
  return step;
}
