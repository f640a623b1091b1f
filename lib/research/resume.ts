/**
 * `POST /api/research/{id}/resume`: continues a failed, interrupted or cancelled run at the step
 * it stopped in. The body is an object of options; `planResume` turns them into changes made to
 * the run before it re-enters the queue. This is the hook for resuming with a different loaded
 * model context (a `reload` option that loads the model and returns the new context window).
 */
import { z } from "zod";
import type { ProviderService } from "../providers/service.ts";
import type { RunRecord, RunSettings, RunStatus } from "./schema.ts";

/** The resume body (no options yet: `{}` or no body at all). */
export const ResumeRequestSchema = z.strictObject({});

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
export function planResume(
  _run: RunRecord,
  _req: ResumeRequest,
  _deps: { providers: ProviderService; signal: AbortSignal },
): Promise<ResumePlan> {
  return Promise.resolve({});
}
