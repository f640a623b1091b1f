/**
 * Prompts for sourced answers: passages numbered `[1]…[k]` with their source's title and
 * location, and instructions to cite them by number and to say when they do not answer.
 */
import type { ChatMessage } from "../providers/types.ts";
import { stripThink } from "./citations.ts";
import type { Passage, Source } from "./types.ts";
import { sourceLocation } from "./types.ts";

/** The numbered passages block. */
export function passagesBlock(
  passages: readonly Passage[],
  sources: ReadonlyMap<number, Source>,
): string {
  return passages.map((p, i) => {
    const s = sources.get(p.source);
    const head = s ? `${s.title} — ${sourceLocation(s, [p])}` : "source";
    return `[${i + 1}] ${head}\n${p.text}`;
  }).join("\n\n");
}

const RULES = "Answer from the numbered sources below. After each claim, cite the sources that " +
  "support it by number in square brackets, like [1] or [2][3]. Cite only numbers that appear " +
  "below; never invent sources. If the sources do not answer the question, say so plainly, then " +
  "add what you know, marked as not from the sources.";

/** Messages for one sourced answer (a quick run's answer or a detailed run's sub-question). */
export function sourcedAnswerMessages(
  question: string,
  block: string,
  opts: { mainQuestion?: string } = {},
): ChatMessage[] {
  const context = opts.mainQuestion && opts.mainQuestion !== question
    ? `This is one part of researching: ${opts.mainQuestion}\n\n`
    : "";
  return [
    { role: "system", content: `You are a careful research assistant. ${RULES}` },
    { role: "user", content: `${context}Question: ${question}\n\nSources:\n\n${block}` },
  ];
}

/** Messages asking for web search queries for a question (quick mode's plan). */
export function queryMessages(question: string, count: number): ChatMessage[] {
  return [
    {
      role: "system",
      content: `Write ${count} short web search queries that together find sources to answer ` +
        "the user's question. One query per line, no numbering, no quotes, nothing else.",
    },
    { role: "user", content: question },
  ];
}

/** Queries from the model's answer: one per line, cleaned, deduplicated, at most `count`. */
export function parseQueries(text: string, question: string, count: number): string[] {
  const out = [question.trim()];
  for (const raw of stripThink(text).split("\n")) {
    const q = raw.replace(/^\s*(?:[-*•]|\d+[.)])\s*/, "").replace(/^["']|["']$/g, "").trim();
    if (!q || q.length > 200 || q.endsWith(":")) continue;
    if (!out.some((o) => o.toLowerCase() === q.toLowerCase())) out.push(q);
    if (out.length > count) break;
  }
  return out;
}
