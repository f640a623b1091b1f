/**
 * Exact nearest-neighbour search over one space's vectors, kept in one growable Float32Array of
 * unit vectors, so cosine similarity is one dot product per row. Exact (no recall loss); its cost
 * grows linearly with the chunk count (measured in docs/benchmarks.md).
 */

/** Rows in memory: normalised vectors, their SQLite rowids and documents. */
export class VectorMatrix {
  #data: Float32Array;
  #rowids: number[] = [];
  #docs: string[] = [];

  constructor(readonly dimensions: number) {
    this.#data = new Float32Array(dimensions * 1024);
  }

  get size(): number {
    return this.#rowids.length;
  }

  /** Adds one vector (normalised on the way in). */
  append(rowid: number, documentId: string, vector: Float32Array): void {
    const d = this.dimensions;
    const at = this.#rowids.length * d;
    if (at + d > this.#data.length) {
      const grown = new Float32Array(this.#data.length * 2);
      grown.set(this.#data);
      this.#data = grown;
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += vector[j] * vector[j];
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < d; j++) this.#data[at + j] = vector[j] * inv;
    this.#rowids.push(rowid);
    this.#docs.push(documentId);
  }

  /** The `k` rows most similar to `query` (cosine), optionally only of `docs`. */
  nearest(
    query: Float32Array,
    k: number,
    docs: Set<string> | null,
  ): { rowid: number; score: number }[] {
    const d = this.dimensions;
    let norm = 0;
    for (let j = 0; j < d; j++) norm += query[j] * query[j];
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const q = new Float32Array(d);
    for (let j = 0; j < d; j++) q[j] = query[j] * inv;
    // A small sorted buffer: k is tiny next to the row count.
    const topScore: number[] = [];
    const topRow: number[] = [];
    const data = this.#data;
    for (let r = 0; r < this.#rowids.length; r++) {
      if (docs && !docs.has(this.#docs[r])) continue;
      const o = r * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += data[o + j] * q[j];
      if (topScore.length === k && s <= topScore[k - 1]) continue;
      let i = topScore.length;
      while (i > 0 && topScore[i - 1] < s) i--;
      topScore.splice(i, 0, s);
      topRow.splice(i, 0, r);
      if (topScore.length > k) {
        topScore.pop();
        topRow.pop();
      }
    }
    return topRow.map((r, i) => ({ rowid: this.#rowids[r], score: topScore[i] }));
  }
}
