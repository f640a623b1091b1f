/**
 * Quick sourced runs, first step: the search queries: the question itself plus up to three the
 * model writes (shown live as an aside, not kept in the text). A failed call is not fatal: the
 * question alone is searched.
 */
import { answerBudget, estimatePromptTokens } from "../../research/budget.ts";
import type { Step } from "../../research/steps/types.ts";
import { parseQueries, queryMessages } from "../prompt.ts";

/** Model-written queries beside the question. */
export const EXTRA_QUERIES = 3;

/** The queries to search. */
export interface QueriesOutput {
  queries: string[];
}

/** Asks the model for search queries. */
export const queriesStep: Step<QueriesOutput> = {
  name: "queries",
  label: "Write search queries",
  async run(ctx) {
    ctx.progress(`Writing search queries with ${ctx.settings.model}`, 0.1);
    const messages = queryMessages(ctx.run.query, EXTRA_QUERIES);
    const max = answerBudget(estimatePromptTokens(messages), { ...ctx.settings, cap: 300 });
    if (max === null) return { queries: [ctx.run.query] };
    const res = await ctx.llm(messages, { maxTokens: max, part: 0, into: "aside" });
    if (res.error) {
      ctx.progress(`Could not write search queries (${res.error.title}); searching the question`);
      return { queries: [ctx.run.query] };
    }
    const queries = parseQueries(res.text, ctx.run.query, EXTRA_QUERIES);
    ctx.progress(`Searching for: ${queries.join(" · ")}`, 1, { queries });
    return { queries };
  },
};
