/**
 * The research pipelines: which steps a run of each mode goes through, in order. Adding a step is
 * one file in `steps/` and one line here; the step runner (`runner.ts`) gives it a progress range
 * from its weight, `step` events, its own KV key and resume-at-step.
 */
import type { PipelineStep, RunMode } from "./schema.ts";
import { answerStep } from "./steps/answer.ts";
import { planStep } from "./steps/plan.ts";
import { researchStep } from "./steps/research.ts";
import { synthesisStep } from "./steps/synthesis.ts";
import type { Step } from "./steps/types.ts";
import { type RunSources, usesSources } from "../sources/request.ts";
import { queriesStep } from "../sources/steps/queries.ts";
import { searchStep } from "../sources/steps/search.ts";
import { readStep } from "../sources/steps/read.ts";
import { sourcedAnswerStep } from "../sources/steps/answer.ts";
import { sourcedResearchStep } from "../sources/steps/research.ts";
import { sourcedSynthesisStep } from "../sources/steps/synthesis.ts";

/** The steps per mode. */
export const PIPELINES: Readonly<Record<RunMode, readonly Step<unknown>[]>> = {
  quick: [answerStep],
  detailed: [planStep, researchStep, synthesisStep],
};

/** The steps of a run that searches sources (lib/sources/steps/). */
export const SOURCED_PIPELINES: Readonly<Record<RunMode, readonly Step<unknown>[]>> = {
  quick: [queriesStep, searchStep, readStep, sourcedAnswerStep],
  detailed: [planStep, searchStep, readStep, sourcedResearchStep, sourcedSynthesisStep],
};

/** The pipeline of a run: sourced when it searches anything, else model knowledge only. */
export function pipelineFor(mode: RunMode, sources?: RunSources): readonly Step<unknown>[] {
  return usesSources(sources) ? SOURCED_PIPELINES[mode] : PIPELINES[mode];
}

/** The record's view of a fresh run's pipeline: every step pending. */
export function pendingPipeline(mode: RunMode, sources?: RunSources): PipelineStep[] {
  return pipelineFor(mode, sources).map((s) => ({
    name: s.name,
    label: s.label,
    state: "pending",
  }));
}

/** Each step's share of the progress bar as `[from, to]` percentages. */
export function progressRanges(steps: readonly Step<unknown>[]): [number, number][] {
  const total = steps.reduce((a, s) => a + s.weight, 0) || 1;
  let at = 0;
  return steps.map((s) => {
    const from = at;
    at += (s.weight / total) * 100;
    return [from, at];
  });
}
