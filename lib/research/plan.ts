/**
 * Reading the model's plan. Small local models rarely follow a format exactly: they add an
 * introduction, bold the questions, number with "1)" or "Q1:", or use bullets. Accept all of
 * that; fall back to question-mark lines; never more than the maximum.
 */
import { MAX_SUBQUESTIONS } from "./prompts.ts";

const ITEM =
  /^\s*(?:(?:\d{1,2}|[a-e])[.):]|[-*•]|(?:q|question|sub-question)\s*\d{1,2}\s*[.):-]?)\s+(.*\S)\s*$/i;

function clean(s: string): string {
  return s.replace(/\*\*|__|`/g, "").replace(/^["'“]|["'”]$/g, "").replace(/\s+/g, " ").trim();
}

/** Sub-questions from a plan reply, in order, de-duplicated, at most MAX_SUBQUESTIONS. */
export function parsePlan(reply: string): string[] {
  // Reasoning models sometimes leak a <think> block into the content.
  const text = reply.replace(/<think>[\s\S]*?<\/think>/gi, "");
  const lines = text.split(/\r?\n/);
  let items = lines.map((l) => ITEM.exec(l)?.[1]).filter((s): s is string => !!s).map(clean);
  if (items.length === 0) {
    items = lines.map(clean).filter((l) => l.endsWith("?") && l.length > 8);
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const item of items) {
    const key = item.toLowerCase();
    if (item.length < 4 || seen.has(key)) continue;
    seen.add(key);
    out.push(item);
    if (out.length === MAX_SUBQUESTIONS) break;
  }
  return out;
}
