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

/** The steps per mode. */
export const PIPELINES: Readonly<Record<RunMode, readonly Step<unknown>[]>> = {
  quick: [answerStep],
  detailed: [planStep, researchStep, synthesisStep],
};

/** The record's view of a fresh run's pipeline: every step pending. */
export function pendingPipeline(mode: RunMode): PipelineStep[] {
  return PIPELINES[mode].map((s) => ({ name: s.name, label: s.label, state: "pending" }));
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
