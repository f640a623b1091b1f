/**
 * Quick sourced runs, last step: the answer from the selected passages with `[n]` citations,
 * then the text rearranged as it is kept: the answer (markers verified and in run numbers, no
 * reasoning), the Sources list in citation order and "Also consulted". With nothing found (or
 * every engine failed and fallback allowed) the model answers alone, labelled "no sources".
 */
import { runCitationsKey } from "../../kv/keys.ts";
import { streamModelAnswer } from "../../research/steps/answer.ts";
import { defineStep, type StepContext } from "../../research/steps/types.ts";
import { CitationBook, stripThink } from "../citations.ts";
import { NO_SOURCES_LABEL, sourcesMarkdown } from "../report.ts";
import type { CitationSummary, Source } from "../types.ts";
import { citedAnswer } from "./cite.ts";
import { SOURCES_NEEDS } from "./read.ts";
import { whyNoPassages } from "../no_sources.ts";

/** What the answer step kept. */
export interface SourcedAnswerOutput {
  cited: number;
  removed: number;
}

/** Stores and announces the final citation summary. */
export function publishCitations(
  ctx: StepContext,
  book: CitationBook,
  sources: readonly Source[],
  noSources?: string,
): CitationSummary {
  const citations = book.list();
  const cited = new Set(citations.map((c) => c.source));
  const summary: CitationSummary = {
    citations,
    removed: book.removed,
    uncited: sources.filter((s) => !cited.has(s.index) && s.sameAs === undefined).map((s) =>
      s.index
    ),
  };
  ctx.put(runCitationsKey(ctx.run.id), summary);
  if (noSources) ctx.update({ noSources });
  ctx.emit("citations", {
    cited: citations.length,
    removed: book.removed,
    citations,
    ...(noSources ? { noSources } : {}),
  });
  if (book.removed) {
    ctx.progress(
      `Removed ${book.removed} citation${book.removed === 1 ? "" : "s"} that pointed at no source`,
    );
  }
  return summary;
}

/** Model knowledge only, labelled: nothing was found or every engine failed. */
export async function modelOnly(ctx: StepContext, why: string): Promise<SourcedAnswerOutput> {
  const start = await streamModelAnswer(ctx, `${why}; answering from the model's knowledge`);
  const text = stripThink(ctx.text.slice(start)).trim();
  ctx.compose([[0, start], `_${NO_SOURCES_LABEL} ${why}._\n\n`, text, "\n"]);
  ctx.update({ noSources: why });
  ctx.emit("citations", { cited: 0, removed: 0, citations: [], noSources: why });
  return { cited: 0, removed: 0 };
}

/** Answers the question from the passages. */
export const sourcedAnswerStep = defineStep({
  name: "answer",
  label: "Answer with citations",
  needs: SOURCES_NEEDS,
  async run(ctx, { search, read }): Promise<SourcedAnswerOutput> {
    const why = whyNoPassages(search, read);
    if (why) return await modelOnly(ctx, why);
    const book = new CitationBook();
    ctx.progress(`Asking ${ctx.settings.model} with ${read.sources.length} sources`, 0.05);
    const a = await citedAnswer(ctx, ctx.run.query, read, book, { cache: new Map() });
    if (a.error) return ctx.fail(a.error);
    const summary = publishCitations(ctx, book, read.sources);
    const md = sourcesMarkdown(
      summary.citations,
      read.sources,
      search.failures,
      read.passages,
    );
    ctx.compose([[0, a.start], a.text, md ? `\n\n${md}` : "", "\n"]);
    return { cited: summary.citations.length, removed: summary.removed };
  },
});
