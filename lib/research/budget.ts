/**
 * Context budgeting. Local servers fail (or silently truncate) when a prompt plus the answer
 * exceed the loaded context, so every step is sized before it is sent. Tokens are estimated, not
 * counted: about 4 characters a token for ASCII, one a character otherwise (CJK, emoji), plus a
 * per-message overhead, all with a safety margin: overestimating only makes answers shorter.
 */
import type { ChatMessage } from "../providers/types.ts";
import type { Finding } from "./prompts.ts";

/** Multiplier on every estimate. */
export const ESTIMATE_MARGIN = 1.15;
/** Tokens a chat template adds around each message. */
export const MESSAGE_OVERHEAD = 8;
/** The answer is never given less room than this (else trim the prompt instead). */
export const MIN_ANSWER_TOKENS = 256;
/** Share of the context the answer may use (docs/providers.md, "Settings": max_tokens is capped at 80 %). */
export const MAX_ANSWER_SHARE = 0.8;

/** Estimated tokens of a text. */
export function estimateTextTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) < 128) ascii++;
    else other++;
  }
  return Math.ceil((ascii / 4 + other) * ESTIMATE_MARGIN);
}

/** Estimated prompt tokens of a message list. */
export function estimatePromptTokens(messages: ChatMessage[]): number {
  return messages.reduce((n, m) => n + MESSAGE_OVERHEAD + estimateTextTokens(m.content), 0);
}

/**
 * max_tokens for a step: what the person asked for, capped at 80 % of the window and at what is
 * left after the prompt. Null when even the minimum answer does not fit.
 */
export function answerBudget(
  promptTokens: number,
  opts: { contextWindow: number; maxTokens: number; cap?: number },
): number | null {
  const left = opts.contextWindow - promptTokens;
  const budget = Math.min(
    opts.maxTokens,
    Math.floor(opts.contextWindow * MAX_ANSWER_SHARE),
    left,
    opts.cap ?? Infinity,
  );
  return budget >= Math.min(MIN_ANSWER_TOKENS, opts.maxTokens) ? budget : null;
}

/** Cuts text to about `tokens` tokens, at a paragraph or sentence end when one is near. */
export function trimToTokens(text: string, tokens: number): string {
  if (estimateTextTokens(text) <= tokens) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (estimateTextTokens(text.slice(0, mid)) <= tokens) lo = mid;
    else hi = mid - 1;
  }
  const cut = text.slice(0, lo);
  const end = Math.max(cut.lastIndexOf("\n\n"), cut.lastIndexOf(". "));
  return end > lo * 0.6 ? cut.slice(0, end + 1).trimEnd() : cut.trimEnd();
}

/**
 * Shrinks findings so `build(findings)` fits in `available` tokens: the longest findings are cut
 * first, so short ones survive whole. Returns the findings and whether anything was cut; null
 * when even empty findings do not fit.
 */
export function fitFindings(
  findings: Finding[],
  available: number,
  build: (f: Finding[]) => ChatMessage[],
): { findings: Finding[]; trimmed: boolean } | null {
  if (estimatePromptTokens(build(findings)) <= available) return { findings, trimmed: false };
  const empty = findings.map((f) => ({ ...f, answer: "" }));
  const fixed = estimatePromptTokens(build(empty));
  if (fixed > available) return null;
  // Water-filling: find the largest per-finding cap whose total fits.
  const sizes = findings.map((f) => estimateTextTokens(f.answer));
  const room = available - fixed;
  let lo = 0;
  let hi = Math.max(...sizes, 0);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const total = sizes.reduce((n, s) => n + Math.min(s, mid), 0);
    if (total <= room) lo = mid;
    else hi = mid - 1;
  }
  for (let cap = lo; cap >= 0; cap = cap > 0 ? Math.max(0, Math.floor(cap * 0.9) - 1) : -1) {
    const out = findings.map((f, i) =>
      sizes[i] > cap ? { ...f, answer: trimToTokens(f.answer, cap), trimmed: true } : f
    );
    if (estimatePromptTokens(build(out)) <= available) return { findings: out, trimmed: true };
  }
  return null;
}
