/** Quick mode's one step: the question answered in one streamed call. */
import { answerBudget, estimatePromptTokens } from "../budget.ts";
import { quickPrompt } from "../prompts.ts";
import type { Step, StepContext } from "./types.ts";

/** Where the answer sits in the run's text. */
export interface AnswerOutput {
  start: number;
  end: number;
}

/**
 * Streams the model's own answer to the run's question into the text, announced by `progress`;
 * returns where it starts. Also the sourced runs' answer when nothing was found.
 */
export async function streamModelAnswer(ctx: StepContext, progress: string): Promise<number> {
  const messages = quickPrompt(ctx.run.query);
  const prompt = estimatePromptTokens(messages);
  const max = answerBudget(prompt, ctx.settings);
  if (max === null) return ctx.fail(ctx.tooLarge(prompt, "question"));
  ctx.progress(progress, 0.05);
  const start = ctx.text.length;
  const res = await ctx.llm(messages, { maxTokens: max, into: "text" });
  if (res.error) return ctx.fail(res.error);
  return start;
}

/** Streams the answer into the text. */
export const answerStep: Step<AnswerOutput> = {
  name: "answer",
  label: "Answer the question",
  async run(ctx) {
    const s = ctx.settings;
    const start = await streamModelAnswer(ctx, `Asking ${s.model} on ${s.providerName}`);
    return { start, end: ctx.text.length };
  },
};
