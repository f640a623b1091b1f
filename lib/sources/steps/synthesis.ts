/**
 * Detailed sourced runs, last step: one report from the cited findings that keeps their run-wide
 * `[n]` numbers (checked afterwards: numbers naming no source are removed and counted), then the
 * text arranged as kept: report, the research notes, and the Sources list in citation order.
 */
import { synthesisPrompt } from "../../research/prompts.ts";
import { REPORT_HEADING, trimmedRange, writeReport } from "../../research/steps/synthesis.ts";
import { defineStep } from "../../research/steps/types.ts";
import type { ChatMessage } from "../../providers/types.ts";
import type { Finding } from "../../research/prompts.ts";
import { CitationBook, stripThink } from "../citations.ts";
import { NO_SOURCES_LABEL, sourcesMarkdown } from "../report.ts";
import { publishCitations } from "./answer.ts";
import { SOURCES_NEEDS } from "./read.ts";
import { whyNoPassages } from "../no_sources.ts";
import { sourcedResearchStep } from "./research.ts";

const KEEP_CITATIONS = "The findings cite their sources as [n]. Keep those citations exactly " +
  "as written, after the claims they support, and cite nothing else; do not renumber them.";

/** The synthesis prompt with the rule about keeping citations. */
export function citedSynthesisPrompt(query: string, findings: Finding[]): ChatMessage[] {
  const [system, user] = synthesisPrompt(query, findings);
  return [{ ...system, content: `${system.content} ${KEEP_CITATIONS}` }, user];
}

/** Where the report sits in the final text. */
export interface SourcedSynthesisOutput {
  reportChars: number;
  cited: number;
  removed: number;
}

/** Writes the report. */
export const sourcedSynthesisStep = defineStep({
  name: "synthesis",
  label: "Write the report with citations",
  needs: { research: sourcedResearchStep, ...SOURCES_NEEDS },
  async run(ctx, { research, read, search }): Promise<SourcedSynthesisOutput> {
    const build = (f: Finding[]) => citedSynthesisPrompt(ctx.run.query, f);
    const start = await writeReport(ctx, research.findings, build);
    const book = CitationBook.from(research);
    const report = book.verify(stripThink(ctx.text.slice(start)).trim()).text;
    const why = whyNoPassages(search, read);
    const summary = publishCitations(ctx, book, read.sources, why);
    const md = sourcesMarkdown(summary.citations, read.sources, search.failures, read.passages);
    const notes = trimmedRange(ctx.text, research.notes.start, research.notes.end);
    const label = why ? `_${NO_SOURCES_LABEL} ${why}._\n\n` : "";
    ctx.compose([
      REPORT_HEADING,
      label,
      report,
      "\n\n---\n\n",
      notes,
      md ? `\n\n${md}` : "",
      "\n",
    ]);
    return {
      reportChars: report.length,
      cited: summary.citations.length,
      removed: summary.removed,
    };
  },
});
