/**
 * Keyword search on the FTS5 table with bounded work. FTS5 has no top-k shortcut for BM25: an OR
 * query scores and sorts every chunk that holds any of its words, about 5 µs a chunk here, so a
 * word found in a third of 100 000 chunks costs ~250 ms (measured in
 * docs/decisions/library-index.md). Such a word says little about which chunk is meant (its IDF
 * is small), so this module ranks by the selective words, i.e. those in at most `MAX_POSTINGS`
 * chunks; when every word is common it ranks the chunks holding all of them, if those are few
 * enough, and otherwise gives no keyword list (the vector side answers). A keyword-only search
 * (no query vector: the embedding server is down) ranks every word whatever it costs. Below
 * `MAX_POSTINGS` chunks nothing changes: every word counts, as plain FTS5 would rank them.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Chunks a word (or the AND of all words) may match and still be ranked. */
export const MAX_POSTINGS = 1000;

/**
 * A user's words as quoted FTS5 strings (so `AND`, `*`, `:` or quotes in the text are never
 * operators), lower-cased and deduplicated, at most 32.
 */
export function ftsWords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, 32).map((w) => `"${w}"`);
}

/** The FTS5 expression: words joined by OR, so BM25 ranks chunks with more of them first. */
export function ftsQuery(text: string): string | null {
  const words = ftsWords(text);
  return words.length ? words.join(" OR ") : null;
}

/** Picks the MATCH expression to rank, from a count of matches capped at MAX_POSTINGS + 1. */
export class KeywordPlanner {
  #count: StatementSync;

  constructor(db: DatabaseSync) {
    this.#count = db.prepare(
      `SELECT count(*) AS n FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT ?)`,
    );
  }

  #matches(expr: string): number {
    return Number(this.#count.get(expr, MAX_POSTINGS + 1)?.n ?? 0);
  }

  /**
   * The expression to rank for `text`, or null when there is none worth ranking. `alone`: no
   * other signal will answer, so every word is ranked.
   */
  plan(text: string, alone = false): string | null {
    const words = ftsWords(text);
    if (words.length === 0) return null;
    const all = words.join(" OR ");
    if (alone || this.#matches(all) <= MAX_POSTINGS) return all;
    const selective = words.filter((w) => this.#matches(w) <= MAX_POSTINGS);
    if (selective.length) return selective.join(" OR ");
    const every = words.join(" AND ");
    return words.length > 1 && this.#matches(every) <= MAX_POSTINGS ? every : null;
  }
}
