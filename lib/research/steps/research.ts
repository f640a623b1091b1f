/**
 * Detailed mode: each sub-question of the plan answered in turn, streamed into the run's text
 * under its own heading. A failed sub-question becomes a note and the run carries on; a failure
 * every further call would repeat (connection, key, model) skips the rest. After each
 * successfully answered sub-question (while none failed) the findings are checkpointed, so a
 * resumed run continues with the next one and retries every one that failed.
 */
import { answerBudget, estimatePromptTokens, MIN_ANSWER_TOKENS } from "../budget.ts";
import { type Finding, subquestionPrompt } from "../prompts.ts";
import { stepFailureNote } from "../report.ts";
import type { RunStep } from "../schema.ts";
import type { UpstreamError } from "../../providers/types.ts";
import { planStep } from "./plan.ts";
import type { Step } from "./types.ts";

/** Error kinds after which further calls in the same run would fail the same way. */
export const FATAL_KINDS: ReadonlySet<string> = new Set([
  "connection",
  "authentication",
  "model_not_found",
  "cancelled",
]);

/** The findings, and where the notes sit in the text (the report puts them behind itself). */
export interface ResearchOutput {
  findings: Finding[];
  notes: { start: number; end: number };
}

interface Checkpoint {
  findings: Finding[];
  /** Sub-questions answered, all of them successfully. */
  done: number;
  notesStart: number;
}

/** Answers the plan's sub-questions. */
export const researchStep: Step<ResearchOutput> = {
  name: "research",
  label: "Answer the sub-questions",
  weight: 60,
  async run(ctx) {
    const { questions } = ctx.input(planStep);
    const s = ctx.settings;
    const saved = ctx.resumed as Checkpoint | undefined;
    const findings: Finding[] = saved ? [...saved.findings] : [];
    let lastError: UpstreamError | null = null;
    let done = saved?.done ?? 0;
    const notesStart = saved?.notesStart ?? ctx.text.length;
    if (!saved) ctx.write("## Research notes\n\n");
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
      const messages = subquestionPrompt(ctx.run.query, q, n, questions.length);
      const prompt = estimatePromptTokens(messages);
      const max = answerBudget(prompt, {
        ...s,
        cap: Math.max(MIN_ANSWER_TOKENS, Math.floor(s.contextWindow / 4)),
      });
      const res = max === null
        ? { text: "", error: ctx.tooLarge(prompt, `sub-question ${n}`) }
        : await ctx.llm(messages, { maxTokens: max, part: n, into: "text" });
      if (ctx.signal.aborted) return { findings, notes: { start: notesStart, end: notesStart } };
      if (res.error) {
        lastError = res.error;
        step.status = "failed";
        step.error = res.error;
        ctx.write(`${res.text ? "\n\n" : ""}${stepFailureNote(res.error)}\n\n`);
        ctx.update({ steps, error: ctx.record.error ?? res.error });
        ctx.emit("error", { ...res.error, step: n, fatal: false });
        ctx.progress(
          `Sub-question ${n} failed (${res.error.title}); continuing with what we have`,
          n / questions.length,
          { step: n },
        );
        findings.push({ question: q, answer: res.text, failed: res.text.trim() === "" });
      } else {
        step.status = "done";
        ctx.update({ steps });
        ctx.write("\n\n");
        findings.push({ question: q, answer: res.text });
      }
      done++;
      // Checkpoints cover the answered prefix only: a re-run retries every failed sub-question.
      if (!lastError) ctx.checkpoint({ findings, done, notesStart } satisfies Checkpoint);
    }
    ctx.update({ steps });
    // No material, or a failure that every further call would repeat: end with what we have.
    if (!findings.some((f) => !f.failed) || (lastError && FATAL_KINDS.has(lastError.kind))) {
      return ctx.fail(lastError ?? ctx.tooLarge(0, "research"));
    }
    return { findings, notes: { start: notesStart, end: ctx.text.length } };
  },
};
