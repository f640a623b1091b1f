/**
 * Follow-up runs: a new question asked in the context of an earlier run's question and report.
 * The earlier report is copied (capped) into the new run's record when it starts, so what the
 * model was shown stays known even if the earlier run is deleted later.
 */
import type { ChatMessage } from "../providers/types.ts";
import type { RunFollowUp } from "./schema.ts";

/** Most characters of the earlier report carried, whatever the context window. */
export const FOLLOW_UP_MAX_CHARS = 12_000;

/**
 * Caps the carried report to a quarter of the context window (at ~4 characters a token that is
 * about a quarter of the tokens), keeping its beginning, where quick answers and reports put the
 * direct answer.
 */
export function capFollowUp(prev: RunFollowUp, contextWindow: number): RunFollowUp {
  const max = Math.max(500, Math.min(FOLLOW_UP_MAX_CHARS, Math.floor(contextWindow)));
  if (prev.report.length <= max) return prev;
  return { ...prev, report: `${prev.report.slice(0, max)}\n\n[… earlier answer shortened]` };
}

/**
 * A follow-up run: the earlier question and report go in front of the last user message, so every
 * prompt of the run (quick answer, plan, sub-questions, report) is read in that context.
 */
export function withFollowUp(
  messages: ChatMessage[],
  prev: { query: string; report: string } | undefined,
): ChatMessage[] {
  if (!prev) return messages;
  const last = messages.findLastIndex((m) => m.role === "user");
  if (last < 0) return messages;
  const context = "This continues an earlier question. Use the earlier answer as context; " +
    "do not repeat it, build on it.\n\n" +
    `Earlier question: ${prev.query}\n\nEarlier answer:\n<<<\n${prev.report}\n>>>\n\n`;
  return messages.map((m, i) => i === last ? { ...m, content: `${context}${m.content}` } : m);
}
