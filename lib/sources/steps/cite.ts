/**
 * One sourced answer, shared by quick answers and detailed sub-questions: choose passages for the
 * question within the context budget (saying what was left out), stream the answer citing the
 * numbered passages, then strip reasoning and resolve its markers into the run's numbering.
 */
import {
  answerBudget,
  estimatePromptTokens,
  estimateTextTokens,
  MIN_ANSWER_TOKENS,
} from "../../research/budget.ts";
import type { LlmCallOptions, StepContext } from "../../research/steps/types.ts";
import type { UpstreamError } from "../../providers/types.ts";
import { type CitationBook, stripThink } from "../citations.ts";
import { passagesBlock, sourcedAnswerMessages } from "../prompt.ts";
import { selectPassages, type VectorCache } from "../select.ts";
import { runEmbed } from "../deps.ts";
import type { Passage, Source } from "../types.ts";

/** The outcome of one sourced answer. */
export interface CitedAnswer {
  /** Where the raw streamed answer sits in the run's text. */
  start: number;
  end: number;
  /** The answer as it will be kept: no reasoning, markers in run numbers. */
  text: string;
  removed: number;
  error: UpstreamError | null;
}

/** Share of the context an answer is given before passages are added. */
export const ANSWER_SHARE = 0.3;

/** Answers `question` from `passages`; `cap` limits the answer's tokens (sub-questions). */
export async function citedAnswer(
  ctx: StepContext,
  question: string,
  material: { sources: readonly Source[]; passages: readonly Passage[] },
  book: CitationBook,
  opts: { cache: VectorCache; part?: number; cap?: number; mainQuestion?: string },
): Promise<CitedAnswer> {
  const s = ctx.settings;
  const base = estimatePromptTokens(
    sourcedAnswerMessages(question, "", { mainQuestion: opts.mainQuestion }),
  );
  const reserve = Math.min(
    s.maxTokens,
    opts.cap ?? Infinity,
    Math.max(MIN_ANSWER_TOKENS, Math.floor(s.contextWindow * ANSWER_SHARE)),
  );
  const sel = await selectPassages(question, material.passages, {
    budgetTokens: s.contextWindow - base - reserve,
    embed: runEmbed(
      ctx.sources,
      ctx.settings.provider,
      String(ctx.config["search.embedding_model"] ?? ""),
    ),
    cache: opts.cache,
    signal: ctx.signal,
  });
  if (sel.embedError) ctx.progress(`Embedding failed (${sel.embedError}); ranked by keywords`);
  if (!sel.chosen.length && material.passages.length) {
    const smallest = Math.min(...material.passages.map((p) => estimateTextTokens(p.text)));
    return {
      start: ctx.text.length,
      end: ctx.text.length,
      text: "",
      removed: 0,
      error: ctx.tooLarge(base + smallest + MIN_ANSWER_TOKENS, "sources prompt"),
    };
  }
  if (sel.leftOut || sel.duplicates) {
    ctx.progress(
      `Using ${sel.chosen.length} passages (ranked by ${sel.method})` +
        (sel.leftOut
          ? `; ${sel.leftOut} more did not fit ${s.model}'s ${s.contextWindow}-token context`
          : "") +
        (sel.duplicates ? `; ${sel.duplicates} duplicates dropped` : ""),
      undefined,
      { passages: sel.chosen.length, leftOut: sel.leftOut, duplicates: sel.duplicates },
    );
  }
  const byIndex = new Map(material.sources.map((x) => [x.index, x]));
  const messages = sourcedAnswerMessages(question, passagesBlock(sel.chosen, byIndex), {
    mainQuestion: opts.mainQuestion,
  });
  const prompt = estimatePromptTokens(messages);
  const max = answerBudget(prompt, { ...s, cap: opts.cap });
  const start = ctx.text.length;
  if (max === null) {
    return {
      start,
      end: start,
      text: "",
      removed: 0,
      error: ctx.tooLarge(prompt, "sources prompt"),
    };
  }
  const call: LlmCallOptions = {
    maxTokens: max,
    into: "text",
    ...(opts.part ? { part: opts.part } : {}),
  };
  const res = await ctx.llm(messages, call);
  const end = ctx.text.length;
  const resolved = book.resolve(stripThink(ctx.text.slice(start, end)).trim(), sel.chosen);
  return { start, end, text: resolved.text, removed: resolved.removed, error: res.error };
}
