/**
 * Choosing passages for a question: ranked by embedding similarity when vectors are given, by
 * BM25 keyword ranking otherwise; near-duplicates (the same text syndicated on two sites, or a
 * snippet repeating its page) dropped; at most a few per source; then added best-first until the
 * token budget is met, with what was left out counted for the run's progress note.
 */
import { estimateTextTokens } from "../research/budget.ts";
import type { Passage } from "./types.ts";

/** A passage with its relevance to the question. */
export interface Ranked {
  passage: Passage;
  score: number;
}

const STOP = new Set(
  ("a an and are as at be by for from has have how in is it its of on or that the this to was " +
    "were what when where which who why will with does do did can could should would about " +
    "der die das und ist le la les des et est el los las y es").split(" "),
);

/** Lower-case word tokens without stop words (Unicode letters and digits). */
export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((t) =>
    t.length > 1 && !STOP.has(t)
  );
}

/** BM25 (k1 1.2, b 0.75) of every passage against the question. */
export function keywordRank(question: string, passages: readonly Passage[]): Ranked[] {
  const q = [...new Set(tokenize(question))];
  const docs = passages.map((p) => tokenize(p.text));
  const avg = docs.reduce((a, d) => a + d.length, 0) / (docs.length || 1) || 1;
  const df = new Map<string, number>();
  for (const d of docs) for (const t of new Set(d)) df.set(t, (df.get(t) ?? 0) + 1);
  const n = docs.length;
  return passages.map((passage, i) => {
    const d = docs[i];
    const tf = new Map<string, number>();
    for (const t of d) tf.set(t, (tf.get(t) ?? 0) + 1);
    let score = 0;
    for (const t of q) {
      const f = tf.get(t) ?? 0;
      if (!f) continue;
      const idf = Math.log(1 + (n - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
      score += idf * (f * 2.2) / (f + 1.2 * (1 - 0.75 + 0.75 * d.length / avg));
    }
    return { passage, score };
  }).sort(byScore);
}

/** Cosine similarity of the question's vector with each passage's (same order as `passages`). */
export function vectorRank(
  question: ArrayLike<number>,
  passages: readonly Passage[],
  vectors: readonly ArrayLike<number>[],
): Ranked[] {
  const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
  const qn = norm(question) || 1;
  return passages.map((passage, i) => {
    const v = vectors[i];
    let dot = 0;
    for (let k = 0; k < question.length; k++) dot += question[k] * (v[k] ?? 0);
    return { passage, score: dot / (qn * (norm(v) || 1)) };
  }).sort(byScore);
}

function byScore(a: Ranked, b: Ranked): number {
  return b.score - a.score || a.passage.id.localeCompare(b.passage.id);
}

function shingles(text: string): Set<string> {
  const t = tokenize(text);
  const out = new Set<string>();
  for (let i = 0; i + 3 <= t.length; i++) out.add(t.slice(i, i + 3).join(" "));
  if (t.length < 3) out.add(t.join(" "));
  return out;
}

/** Drops passages whose 3-word shingles overlap an earlier kept one by more than `threshold`. */
export function dedupe(ranked: readonly Ranked[], threshold = 0.7): Ranked[] {
  const kept: { r: Ranked; s: Set<string> }[] = [];
  for (const r of ranked) {
    const s = shingles(r.passage.text);
    const dup = kept.some((k) => {
      let inter = 0;
      for (const x of s) if (k.s.has(x)) inter++;
      return inter / Math.min(s.size, k.s.size || 1) > threshold;
    });
    if (!dup) kept.push({ r, s });
  }
  return kept.map((k) => k.r);
}

/** The selection for one question and what did not make it. */
export interface Selection {
  chosen: Passage[];
  /** Relevant passages that did not fit the budget. */
  leftOut: number;
  /** Passages dropped as near-duplicates. */
  duplicates: number;
  tokens: number;
}

/**
 * Best-first until `budgetTokens` is met, at most `perSource` passages of one source and `max`
 * in all. When some passages match the question at all, those that match nothing (score 0)
 * are not offered.
 */
export function fitBudget(
  ranked: readonly Ranked[],
  opts: { budgetTokens: number; perSource?: number; max?: number },
): Selection {
  const unique = dedupe(ranked);
  const perSource = opts.perSource ?? 3;
  const max = opts.max ?? 24;
  const chosen: Passage[] = [];
  const counts = new Map<number, number>();
  let tokens = 0;
  let leftOut = 0;
  const anyRelevant = unique.some((r) => r.score > 0);
  for (const r of unique) {
    if (anyRelevant && r.score <= 0) continue;
    const t = estimateTextTokens(r.passage.text) + 6;
    const c = counts.get(r.passage.source) ?? 0;
    if (c >= perSource || chosen.length >= max || tokens + t > opts.budgetTokens) {
      if (r.score > 0) leftOut++;
      continue;
    }
    chosen.push(r.passage);
    counts.set(r.passage.source, c + 1);
    tokens += t;
  }
  return { chosen, leftOut, duplicates: ranked.length - unique.length, tokens };
}
