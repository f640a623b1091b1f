/** Detailed mode, first step: the model splits the question into 3-5 sub-questions. */
import { answerBudget, estimatePromptTokens } from "../budget.ts";
import { parsePlan } from "../plan.ts";
import { fallbackSubquestions, MIN_SUBQUESTIONS, planPrompt } from "../prompts.ts";
import type { RunStep } from "../schema.ts";
import type { Step } from "./types.ts";

/** Largest plan answer; a list of five questions needs far less. */
const PLAN_MAX_TOKENS = 600;

/** The sub-questions the later steps work through. */
export interface PlanOutput {
  questions: string[];
}

/** Asks for the plan (streamed as aside deltas: shown live, not kept in the text). */
export const planStep: Step<PlanOutput> = {
  name: "plan",
  label: "Plan sub-questions",
  async run(ctx) {
    ctx.progress(`Planning sub-questions with ${ctx.settings.model}`, 0.2);
    const messages = planPrompt(ctx.run.query);
    const prompt = estimatePromptTokens(messages);
    const max = answerBudget(prompt, { ...ctx.settings, cap: PLAN_MAX_TOKENS });
    if (max === null) return ctx.fail(ctx.tooLarge(prompt, "question"));
    const res = await ctx.llm(messages, { maxTokens: max, part: 0, into: "aside" });
    if (res.error) return ctx.fail(res.error);
    let questions = parsePlan(res.text);
    if (questions.length < MIN_SUBQUESTIONS) {
      const extra = fallbackSubquestions(ctx.run.query).slice(
        0,
        MIN_SUBQUESTIONS - questions.length,
      );
      ctx.progress(
        questions.length === 0
          ? "Could not read sub-questions from the model's plan; using general ones instead"
          : `The plan had only ${questions.length} sub-question(s); added general ones`,
        0.8,
      );
      questions = [...questions, ...extra];
    }
    const steps: RunStep[] = questions.map((question, i) => ({
      index: i + 1,
      question,
      status: "pending",
    }));
    ctx.update({ steps });
    ctx.progress(`Plan: ${questions.length} sub-questions`, 1, { questions });
    return { questions };
  },
};
