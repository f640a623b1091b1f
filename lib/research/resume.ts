/**
 * `POST /api/research/{id}/resume`: continues a failed, interrupted or cancelled run at the step
 * it stopped in. The body is an object of options; `planResume` turns them into changes made to
 * the run before it re-enters the queue. `reload: {model, contextLength}` (the one-click overflow
 * fix) first makes LM Studio load the run's model with that context (lib/research/reload.ts),
 * and the resumed steps are budgeted against the new window.
 */
import { z } from "zod";
import type { ModelAdmin } from "../providers/model_admin.ts";
import type { ProviderService } from "../providers/service.ts";
import { reloadForResume } from "./reload.ts";
import type { RunRecord, RunSettings, RunStatus } from "./schema.ts";

/** The resume body: `{}` (or no body) resumes as it was; `reload` loads with more context first. */
export const ResumeRequestSchema = z.strictObject({
  reload: z.strictObject({
    model: z.string({ error: "Name the model to reload" }).trim().min(1, "Name the model to reload")
      .max(512, "Model ids are at most 512 characters"),
    contextLength: z.number({ error: "contextLength must be a whole number of tokens" }).int(
      "contextLength must be a whole number of tokens",
    ).min(1, "contextLength must be at least 1").max(
      16_777_216,
      "contextLength must be at most 16777216",
    ),
  }).optional(),
});

/** A validated resume body. */
export type ResumeRequest = z.output<typeof ResumeRequestSchema>;

/** Statuses a run can be resumed from. */
export const RESUMABLE: readonly RunStatus[] = ["failed", "interrupted", "cancelled"];

/** What a resume changes before the run continues. */
export interface ResumePlan {
  /** Replaces parts of the run's frozen summary (e.g. the context window after a reload). */
  settings?: Partial<RunSettings>;
}

/** Carries out the resume options for `run`; throws an `AppError` when one cannot be honoured. */
export async function planResume(
  run: RunRecord,
  req: ResumeRequest,
  deps: { providers: ProviderService; admin: ModelAdmin; signal: AbortSignal },
): Promise<ResumePlan> {
  if (!req.reload) return {};
  return { settings: await reloadForResume(deps, run.settings, req.reload) };
}
