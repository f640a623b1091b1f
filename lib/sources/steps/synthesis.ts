/**
 * Detailed sourced runs, last step: one report from the cited findings that keeps their run-wide
 * `[n]` numbers (checked afterwards: numbers naming no source are removed and counted), then the
 * text arranged as kept: report, the research notes, and the Sources list in citation order.
 */
import { synthesisPrompt } from "../../research/prompts.ts";
import { REPORT_HEADING, trimmedRange, writeReport } from "../../research/steps/synthesis.ts";
import type { Step } from "../../research/steps/types.ts";
import type { ChatMessage } from "../../providers/types.ts";
import type { Finding } from "../../research/prompts.ts";
import { CitationBook, stripThink } from "../citations.ts";
import { sourcesMarkdown } from "../report.ts";
import { publishCitations } from "./answer.ts";
import { readStep } from "./read.ts";
import { sourcedResearchStep } from "./research.ts";
import { searchStep } from "./search.ts";

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
export const sourcedSynthesisStep: Step<SourcedSynthesisOutput> = {
  name: "synthesis",
  label: "Write the report with citations",
  weight: 22,
  async run(ctx) {
    const research = ctx.input(sourcedResearchStep);
    const read = ctx.input(readStep);
    const { failures } = ctx.input(searchStep);
    const build = (f: Finding[]) => citedSynthesisPrompt(ctx.run.query, f);
    const start = await writeReport(ctx, research.findings, build);
    const book = new CitationBook(research.citations, research.removed);
    const report = book.verify(stripThink(ctx.text.slice(start)).trim()).text;
    const summary = publishCitations(ctx, book, read.sources);
    const md = sourcesMarkdown(summary.citations, read.sources, failures);
    const notes = trimmedRange(ctx.text, research.notes.start, research.notes.end);
    ctx.compose([REPORT_HEADING, report, "\n\n---\n\n", notes, md ? `\n\n${md}` : "", "\n"]);
    return {
      reportChars: report.length,
      cited: summary.citations.length,
      removed: summary.removed,
    };
  },
};
