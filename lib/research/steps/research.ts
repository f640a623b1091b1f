/**
 * Detailed mode: each sub-question of the plan answered in turn, streamed into the run's text
 * under its own heading. A failed sub-question becomes a note and the run carries on; a failure
 * every further call would repeat (connection, key, model) skips the rest. After each
 * successfully answered sub-question (while none failed) the findings are checkpointed, so a
 * resumed run continues with the next one and retries every one that failed.
 */
import { answerBudget, estimatePromptTokens, MIN_ANSWER_TOKENS } from "../budget.ts";
import { type Finding, subquestionPrompt } from "../prompts.ts";
import { planStep } from "./plan.ts";
import { answerSubquestions, loopFailure } from "./subquestions.ts";
import { defineStep } from "./types.ts";

export { FATAL_KINDS } from "./subquestions.ts";

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
export const researchStep = defineStep({
  name: "research",
  label: "Answer the sub-questions",
  needs: { plan: planStep },
  async run(ctx, { plan: { questions } }): Promise<ResearchOutput> {
    const s = ctx.settings;
    const saved = ctx.resumed as Checkpoint | undefined;
    const findings: Finding[] = saved ? [...saved.findings] : [];
    const notesStart = saved?.notesStart ?? ctx.text.length;
    if (!saved) ctx.write("## Research notes\n\n");
    const end = await answerSubquestions(ctx, {
      questions,
      findings,
      done: saved?.done ?? 0,
      lastError: null,
      async answer(q, n) {
        const messages = subquestionPrompt(ctx.run.query, q, n, questions.length);
        const prompt = estimatePromptTokens(messages);
        const max = answerBudget(prompt, {
          ...s,
          cap: Math.max(MIN_ANSWER_TOKENS, Math.floor(s.contextWindow / 4)),
        });
        const res = max === null
          ? { text: "", error: ctx.tooLarge(prompt, `sub-question ${n}`) }
          : await ctx.llm(messages, { maxTokens: max, part: n, into: "text" });
        return { ...res, wrote: res.text !== "" };
      },
      failed(error, n) {
        ctx.progress(
          `Sub-question ${n} failed (${error.title}); continuing with what we have`,
          n / questions.length,
          { step: n },
        );
      },
      // Checkpoints cover the answered prefix only: a re-run retries every failed sub-question.
      handled({ done, lastError }) {
        if (!lastError) ctx.checkpoint({ findings, done, notesStart } satisfies Checkpoint);
      },
    });
    if (end.aborted) return { findings, notes: { start: notesStart, end: notesStart } };
    const failure = loopFailure(ctx, findings, end.lastError);
    if (failure) return ctx.fail(failure);
    return { findings, notes: { start: notesStart, end: ctx.text.length } };
  },
});
