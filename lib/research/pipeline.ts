/**
 * The research pipelines: which steps a run of each mode goes through, in order, and each one's
 * share of the progress bar (a share is relative to the other steps of the same pipeline, so it
 * lives here, not on the step). Adding a step is one file in `steps/` and one line here; the step
 * runner (`runner.ts`) gives it a progress range, `step` events, its own KV key and
 * resume-at-step.
 */
import type { PipelineStep, RunMode } from "./schema.ts";
import { answerStep } from "./steps/answer.ts";
import { planStep } from "./steps/plan.ts";
import { researchStep } from "./steps/research.ts";
import { synthesisStep } from "./steps/synthesis.ts";
import type { AnyStep } from "./steps/types.ts";
import { type RunSources, usesSources } from "../sources/request.ts";
import { queriesStep } from "../sources/steps/queries.ts";
import { searchStep } from "../sources/steps/search.ts";
import { readStep } from "../sources/steps/read.ts";
import { sourcedAnswerStep } from "../sources/steps/answer.ts";
import { sourcedResearchStep } from "../sources/steps/research.ts";
import { sourcedSynthesisStep } from "../sources/steps/synthesis.ts";

/** A step of a pipeline with its share of the progress bar. */
export interface PipelineEntry {
  readonly step: AnyStep;
  readonly weight: number;
}

/**
 * A pipeline from `[step, weight]` pairs, in order. Throws when a step needs one that does not
 * come before it (every pipeline is built when this module loads, so a wrong order fails at once).
 */
export function pipeline(...entries: [AnyStep, number][]): readonly PipelineEntry[] {
  const seen = new Set<string>();
  for (const [step] of entries) {
    for (const need of Object.values(step.needs ?? {})) {
      if (!seen.has(need.name)) {
        throw new Error(
          `pipeline: step ${step.name} needs ${need.name}, which does not come before it`,
        );
      }
    }
    seen.add(step.name);
  }
  return entries.map(([step, weight]) => ({ step, weight }));
}

/** The steps per mode. */
export const PIPELINES: Readonly<Record<RunMode, readonly PipelineEntry[]>> = {
  quick: pipeline([answerStep, 100]),
  detailed: pipeline([planStep, 10], [researchStep, 60], [synthesisStep, 30]),
};

/** The steps of a run that searches sources (lib/sources/steps/). */
export const SOURCED_PIPELINES: Readonly<Record<RunMode, readonly PipelineEntry[]>> = {
  quick: pipeline([queriesStep, 8], [searchStep, 10], [readStep, 15], [sourcedAnswerStep, 67]),
  detailed: pipeline(
    [planStep, 10],
    [searchStep, 10],
    [readStep, 15],
    [sourcedResearchStep, 45],
    [sourcedSynthesisStep, 22],
  ),
};

/** The pipeline of a run: sourced when it searches anything, else model knowledge only. */
export function pipelineFor(mode: RunMode, sources?: RunSources): readonly PipelineEntry[] {
  return usesSources(sources) ? SOURCED_PIPELINES[mode] : PIPELINES[mode];
}

/** The record's view of a fresh run's pipeline: every step pending. */
export function pendingPipeline(mode: RunMode, sources?: RunSources): PipelineStep[] {
  return pipelineFor(mode, sources).map(({ step }) => ({
    name: step.name,
    label: step.label,
    state: "pending",
  }));
}

/** Each step's share of the progress bar as `[from, to]` percentages. */
export function progressRanges(entries: readonly PipelineEntry[]): [number, number][] {
  const total = entries.reduce((a, e) => a + e.weight, 0) || 1;
  let at = 0;
  return entries.map((e) => {
    const from = at;
    at += (e.weight / total) * 100;
    return [from, at];
  });
}
