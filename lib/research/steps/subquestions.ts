/**
 * The sub-question loop both detailed modes share (plain and sourced): each sub-question of the
 * plan in turn under its own heading, its state kept on the run record. A failed sub-question
 * becomes a note and the run carries on; a failure every further call would repeat (connection,
 * key, model) skips the rest. The caller answers one sub-question and decides what to checkpoint.
 */
import type { UpstreamError } from "../../providers/types.ts";
import type { Finding } from "../prompts.ts";
import { stepFailureNote } from "../report.ts";
import type { RunStep } from "../schema.ts";
import type { StepContext } from "./types.ts";

/** Error kinds after which further calls in the same run would fail the same way. */
export const FATAL_KINDS: ReadonlySet<string> = new Set([
  "connection",
  "authentication",
  "model_not_found",
  "cancelled",
]);

/** One sub-question's answer: its text, its error, and whether any text reached the run. */
export interface SubAnswer {
  text: string;
  error: UpstreamError | null;
  wrote: boolean;
}

/** Where the loop stands: sub-questions handled so far and the last failure. */
export interface LoopState {
  done: number;
  lastError: UpstreamError | null;
}

/** What the loop needs from its step. */
export interface SubquestionLoop extends LoopState {
  questions: string[];
  /** Appended to as each sub-question ends. */
  findings: Finding[];
  /** Answers sub-question `n` (from 1), streaming into the run's text. */
  answer(question: string, n: number): Promise<SubAnswer>;
  /** After a sub-question failed (its note and error event already out). */
  failed?(error: UpstreamError, n: number): void;
  /** After each handled sub-question: the place to checkpoint. */
  handled(state: LoopState): void;
}

/** How the loop ended; `aborted` when the run's signal fired mid-answer. */
export interface LoopResult extends LoopState {
  aborted: boolean;
  steps: RunStep[];
}

/** Runs the loop from `loop.done` on. */
export async function answerSubquestions(
  ctx: StepContext,
  loop: SubquestionLoop,
): Promise<LoopResult> {
  const { questions, findings } = loop;
  let { done, lastError } = loop;
  const steps: RunStep[] = ctx.record.steps.map((st) => ({ ...st }));
  for (const [i, q] of questions.entries()) {
    if (i < done) continue; // handled before a restart
    const n = i + 1;
    const step = steps[i];
    if (lastError && FATAL_KINDS.has(lastError.kind)) {
      step.status = "skipped";
      done++;
      continue;
    }
    step.status = "running";
    ctx.update({ steps });
    ctx.progress(`Sub-question ${n} of ${questions.length}: ${q}`, i / questions.length, {
      step: n,
    });
    ctx.write(`### ${n}. ${q}\n\n`);
    const a = await loop.answer(q, n);
    if (ctx.signal.aborted) return { done, lastError, aborted: true, steps };
    if (a.error) {
      lastError = a.error;
      step.status = "failed";
      step.error = a.error;
      ctx.write(`${a.wrote ? "\n\n" : ""}${stepFailureNote(a.error)}\n\n`);
      ctx.update({ steps, error: ctx.record.error ?? a.error });
      ctx.emit("error", { ...a.error, step: n, fatal: false });
      loop.failed?.(a.error, n);
      findings.push({ question: q, answer: a.text, failed: a.text.trim() === "" });
    } else {
      step.status = "done";
      ctx.update({ steps });
      ctx.write("\n\n");
      findings.push({ question: q, answer: a.text });
    }
    done++;
    loop.handled({ done, lastError });
  }
  ctx.update({ steps });
  return { done, lastError, aborted: false, steps };
}

/**
 * The error that ends the step, if any: no material at all, or a failure that every further
 * call would repeat (then the run ends with what it has).
 */
export function loopFailure(
  ctx: StepContext,
  findings: Finding[],
  lastError: UpstreamError | null,
): UpstreamError | null {
  if (!findings.some((f) => !f.failed) || (lastError && FATAL_KINDS.has(lastError.kind))) {
    return lastError ?? ctx.tooLarge(0, "research");
  }
  return null;
}
