/**
 * Detailed sourced runs: each sub-question answered from the passages chosen for it, streamed
 * under its own heading, citing passages by number; every answer's markers are resolved into
 * one numbering for the whole run (the book travels in the checkpoint, so a resumed run keeps
 * it). As the step ends the notes are rewritten with the resolved answers.
 */
import type { UpstreamError } from "../../providers/types.ts";
import { MIN_ANSWER_TOKENS } from "../../research/budget.ts";
import type { Finding } from "../../research/prompts.ts";
import { answerSubquestions, loopFailure } from "../../research/steps/subquestions.ts";
import { planStep } from "../../research/steps/plan.ts";
import { defineStep } from "../../research/steps/types.ts";
import { CitationBook, type CitationState } from "../citations.ts";
import { citedAnswer } from "./cite.ts";
import { SOURCES_NEEDS } from "./read.ts";
import { whyNoPassages } from "../no_sources.ts";

/** A resolved answer replacing the raw one at `[start, end)` of the text. */
interface Replacement {
  start: number;
  end: number;
  text: string;
}

/** Findings (with run-numbered citations), where the notes sit, and the citation book. */
export interface SourcedResearchOutput extends CitationState {
  findings: Finding[];
  notes: { start: number; end: number };
}

interface Checkpoint extends CitationState {
  findings: Finding[];
  done: number;
  notesStart: number;
  lastError: UpstreamError | null;
  replacements: Replacement[];
}

/** Answers the sub-questions from the sources. */
export const sourcedResearchStep = defineStep({
  name: "research",
  label: "Answer the sub-questions from the sources",
  needs: { plan: planStep, ...SOURCES_NEEDS },
  async run(ctx, { plan: { questions }, read, search }): Promise<SourcedResearchOutput> {
    const saved = ctx.resumed as Checkpoint | undefined;
    const book = CitationBook.from(saved);
    const findings: Finding[] = saved ? [...saved.findings] : [];
    const replacements: Replacement[] = saved ? [...saved.replacements] : [];
    const notesStart = saved?.notesStart ?? ctx.text.length;
    if (!saved) ctx.write("## Research notes\n\n");
    const why = whyNoPassages(search, read);
    if (why) ctx.progress(`${why}; the report uses the model's knowledge`);
    const cache = new Map<string, number[]>();
    const cap = Math.max(MIN_ANSWER_TOKENS, Math.floor(ctx.settings.contextWindow / 4));
    const end = await answerSubquestions(ctx, {
      questions,
      findings,
      done: saved?.done ?? 0,
      lastError: saved?.lastError ?? null,
      async answer(q, n) {
        const a = await citedAnswer(ctx, q, read, book, {
          cache,
          part: n,
          cap,
          mainQuestion: ctx.run.query,
        });
        if (!ctx.signal.aborted) replacements.push({ start: a.start, end: a.end, text: a.text });
        return { text: a.text, error: a.error, wrote: a.end > a.start };
      },
      handled({ done, lastError }) {
        ctx.checkpoint(
          {
            findings,
            done,
            notesStart,
            lastError,
            replacements,
            ...book.state(),
          } satisfies Checkpoint,
        );
      },
    });
    if (end.aborted) ctx.update({ steps: end.steps });
    const failure = loopFailure(ctx, findings, end.lastError);
    if (failure) return ctx.fail(failure);
    // The kept notes: raw answers replaced by their resolved text.
    const parts: (string | [number, number])[] = [];
    let at = 0;
    for (const r of replacements) {
      parts.push([at, r.start], r.text);
      at = r.end;
    }
    parts.push([at, ctx.text.length]);
    const resolvedLength = replacements.reduce((n, r) => n + r.text.length - (r.end - r.start), 0);
    ctx.compose(parts);
    return {
      findings,
      notes: { start: notesStart, end: ctx.text.length + resolvedLength },
      ...book.state(),
    };
  },
});
