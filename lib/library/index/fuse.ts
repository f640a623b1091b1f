/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): each list contributes
 * 1 / (K + rank) per item, K = 60 as in the paper. It needs no score calibration between BM25
 * and cosine similarity, which is why hybrid search engines (LanceDB's RRFReranker included)
 * default to it. Done here rather than in the engine so every backend fuses the same way.
 */
import type { IndexHit, StoredChunk } from "./types.ts";

/** The paper's constant. */
export const RRF_K = 60;

/** One ranked list from one signal, best first, with the signal's own score. */
export interface RankedList {
  signal: "vector" | "keyword";
  items: { chunk: StoredChunk; score: number }[];
}

/**
 * Fuses ranked lists into the top `k` hits. Items a list scores exactly alike share that list's
 * best rank among them ("1224" competition ranking): otherwise the order rows happened to be
 * stored in would decide, and of two chunks with the same cosine the one that also matches the
 * words could rank second (seen when a re-index wrote documents in another order). Hits the
 * fusion still ties keep the first list's order.
 */
export function fuse(lists: RankedList[], k: number): IndexHit[] {
  const byId = new Map<string, IndexHit>();
  for (const list of lists) {
    let rank = 0;
    list.items.forEach((item, i) => {
      if (i > 0 && item.score !== list.items[i - 1].score) rank = i;
      let hit = byId.get(item.chunk.id);
      if (!hit) {
        hit = { chunk: item.chunk, score: 0, scores: {} };
        byId.set(item.chunk.id, hit);
      }
      hit.score += 1 / (RRF_K + rank + 1);
      hit.scores[list.signal] = item.score;
    });
  }
  return [...byId.values()].sort((a, b) => b.score - a.score).slice(0, k);
}
