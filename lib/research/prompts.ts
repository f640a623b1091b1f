/**
 * Every prompt deepstudio sends for research, in one place so wording changes are reviewed
 * together and budgeting (which measures the fixed parts) sees exactly what is sent.
 */
import type { ChatMessage } from "../providers/types.ts";

/** Sub-questions a detailed run asks for. */
export const MIN_SUBQUESTIONS = 3;
export const MAX_SUBQUESTIONS = 5;

const SYSTEM =
  "You are a careful research assistant. Answer from your own knowledge; say plainly " +
  "when you are unsure or when facts may be out of date. Never invent sources, quotes or numbers. " +
  "Write in the language of the question.";

/** Quick mode: one concise, structured answer. */
export function quickPrompt(query: string): ChatMessage[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `Question: ${query}\n\n` +
        "Answer as a concise, well-structured summary in Markdown: start with a one- or " +
        "two-sentence direct answer, then the key points as short bullet points or short " +
        "sections, then any important caveats. No preamble.",
    },
  ];
}

/** Detailed mode, step 1: break the question into sub-questions. */
export function planPrompt(query: string): ChatMessage[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `Research question: ${query}\n\n` +
        `Break this question into ${MIN_SUBQUESTIONS} to ${MAX_SUBQUESTIONS} focused ` +
        "sub-questions that together cover it (background, key facts or mechanisms, " +
        "evidence or examples, limitations or open issues).\n" +
        "Reply with a numbered list only, one sub-question per line, like:\n" +
        "1. First sub-question?\n2. Second sub-question?\n3. Third sub-question?\n" +
        "No introduction, no explanations.",
    },
  ];
}

/** Generic sub-questions when the model's plan could not be read. */
export function fallbackSubquestions(query: string): string[] {
  return [
    `What background and key definitions are needed to understand: ${query}`,
    `What are the main facts, mechanisms or arguments regarding: ${query}`,
    `What are the limitations, open questions or disagreements regarding: ${query}`,
  ];
}

/** Detailed mode, step 2: answer one sub-question. */
export function subquestionPrompt(
  query: string,
  question: string,
  index: number,
  total: number,
): ChatMessage[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `Overall research question: ${query}\n\n` +
        `Sub-question ${index} of ${total}: ${question}\n\n` +
        "Answer this sub-question thoroughly but compactly in Markdown (short paragraphs or " +
        "bullet points, no title). Stick to this sub-question; other parts are covered separately.",
    },
  ];
}

/** One sub-question's material as the synthesis sees it. */
export interface Finding {
  question: string;
  answer: string;
  /** True when the answer was cut to fit the context window. */
  trimmed?: boolean;
  failed?: boolean;
}

/** The material block of the synthesis prompt (measured by the budget before sending). */
export function findingsBlock(findings: Finding[]): string {
  return findings.map((f, i) => {
    const body = f.failed
      ? "(This sub-question could not be answered: the model call failed.)"
      : f.answer.trim() + (f.trimmed ? "\n[…trimmed to fit the context window]" : "");
    return `### Finding ${i + 1}: ${f.question}\n\n${body}`;
  }).join("\n\n");
}

/** Detailed mode, step 3: write the report from the findings. */
export function synthesisPrompt(query: string, findings: Finding[]): ChatMessage[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `Research question: ${query}\n\n` +
        `Findings gathered so far:\n\n${findingsBlock(findings)}\n\n` +
        "Write the final research report in Markdown:\n" +
        "- start with `## Summary`: a short paragraph that answers the question directly;\n" +
        "- then two to five `##` sections that organise the findings by theme (not one section " +
        "per finding), merging and de-duplicating them;\n" +
        "- end with `## Limitations` noting uncertainty, gaps or failed sub-questions.\n" +
        "Use only the findings and well-established knowledge; do not invent sources.",
    },
  ];
}
