/**
 * Choosing the passages one answer sees: embedding similarity when an embedding model is
 * configured (vectors computed once per passage per run step), keyword (BM25) ranking otherwise
 * or when embedding fails; then deduplicated and fitted to the token budget (`rank.ts`).
 */
import type { EmbedFn } from "./deps.ts";
import { fitBudget, keywordRank, type Ranked, type Selection, vectorRank } from "./rank.ts";
import type { Passage } from "./types.ts";

/** A selection and how it was ranked. */
export interface RankedSelection extends Selection {
  method: "embedding" | "keyword";
  /** Why embedding was not used although configured. */
  embedError?: string;
}

/** Passage vectors by id, shared across the questions of one step. */
export type VectorCache = Map<string, number[]>;

async function embedRank(
  embed: EmbedFn,
  question: string,
  passages: readonly Passage[],
  cache: VectorCache,
  signal?: AbortSignal,
): Promise<Ranked[]> {
  const missing = passages.filter((p) => !cache.has(p.id));
  const texts = [question, ...missing.map((p) => p.text)];
  const vectors = await embed(texts, signal);
  if (vectors.length !== texts.length) {
    throw new Error("the embedding server returned too few vectors");
  }
  missing.forEach((p, i) => cache.set(p.id, vectors[i + 1]));
  return vectorRank(vectors[0], passages, passages.map((p) => cache.get(p.id)!));
}

/** Ranks and fits `passages` for `question`. */
export async function selectPassages(
  question: string,
  passages: readonly Passage[],
  opts: {
    budgetTokens: number;
    embed: EmbedFn | null;
    cache?: VectorCache;
    signal?: AbortSignal;
  },
): Promise<RankedSelection> {
  let ranked: Ranked[] | null = null;
  let embedError: string | undefined;
  if (opts.embed && passages.length) {
    try {
      ranked = await embedRank(
        opts.embed,
        question,
        passages,
        opts.cache ?? new Map(),
        opts.signal,
      );
    } catch (err) {
      embedError = (err as Error)?.message ?? String(err);
    }
  }
  const method = ranked ? "embedding" : "keyword";
  ranked ??= keywordRank(question, passages);
  return {
    ...fitBudget(ranked, { budgetTokens: opts.budgetTokens }),
    method,
    ...(embedError ? { embedError } : {}),
  };
}
