/**
 * Detailed mode, last step: one report from the findings, fitted to the context window first
 * (the longest findings trimmed, and a note saying so). On success the text is arranged report
 * first with the research notes behind it, as one `compose` edit of slices (no text copied).
 */
import { answerBudget, estimatePromptTokens, fitFindings, MIN_ANSWER_TOKENS } from "../budget.ts";
import type { ChatMessage } from "../../providers/types.ts";
import { type Finding, synthesisPrompt } from "../prompts.ts";
import { researchStep } from "./research.ts";
import { defineStep, type StepContext } from "./types.ts";

/** The report's heading: kept when the text is arranged report first, so the sections stay
 * labelled ("Report", then "Research notes") wherever the reader is on the page. */
export const REPORT_HEADING = "## Report\n\n";

/** Where the report sits in the final text. */
export interface SynthesisOutput {
  reportChars: number;
}

/** The slice `[start, end)` of `text` without surrounding whitespace. */
export function trimmedRange(text: string, start: number, end: number): [number, number] {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return [start, end];
}

/**
 * Fits `findings` into the report prompt `build` makes (the longest trimmed, with a note), then
 * streams the report under its heading. Returns where the report starts in the text; every
 * failure ends the run.
 */
export async function writeReport(
  ctx: StepContext,
  findings: Finding[],
  build: (findings: Finding[]) => ChatMessage[],
): Promise<number> {
  const s = ctx.settings;
  const reserve = Math.min(
    s.maxTokens,
    Math.max(MIN_ANSWER_TOKENS, Math.floor(s.contextWindow * 0.4)),
  );
  const fitted = fitFindings(findings, s.contextWindow - reserve, build);
  if (!fitted) return ctx.fail(ctx.tooLarge(estimatePromptTokens(build([])), "report prompt"));
  if (fitted.trimmed) {
    ctx.progress(
      `The findings are longer than ${s.model}'s ${s.contextWindow}-token context allows; trimmed the longest ones to fit`,
      0,
      { trimmed: true },
    );
  }
  ctx.progress("Writing the report", 0.05);
  const messages = build(fitted.findings);
  const prompt = estimatePromptTokens(messages);
  const max = answerBudget(prompt, s);
  if (max === null) return ctx.fail(ctx.tooLarge(prompt, "report prompt"));
  ctx.write(`---\n\n${REPORT_HEADING}`);
  const start = ctx.text.length;
  const res = await ctx.llm(messages, { maxTokens: max, into: "text" });
  if (res.error) return ctx.fail(res.error);
  return start;
}

/** Writes the report. */
export const synthesisStep = defineStep({
  name: "synthesis",
  label: "Write the report",
  needs: { research: researchStep },
  async run(ctx, { research: { findings, notes } }): Promise<SynthesisOutput> {
    const start = await writeReport(ctx, findings, (f) => synthesisPrompt(ctx.run.query, f));
    // Success: the report first, the notes behind it as an appendix (applied as the step ends).
    const report = trimmedRange(ctx.text, start, ctx.text.length);
    const kept = trimmedRange(ctx.text, notes.start, notes.end);
    ctx.compose([REPORT_HEADING, report, "\n\n---\n\n", kept, "\n"]);
    return { reportChars: report[1] - report[0] };
  },
});
