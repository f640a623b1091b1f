/**
 * Nearest-neighbour candidates over one space's vectors, held in memory as int8: each vector is
 * normalised, scaled so its largest component is ±127 and rounded, one contiguous row per chunk
 * in a WebAssembly memory that `int8_scan.ts` scans with SIMD. A quarter of float32's bytes and
 * 16 multiply-adds per instruction group: 100 000 × 768 in milliseconds. The int8 score is an
 * estimate (per-component rounding error ≤ 1/254 of the row's largest component), so callers take
 * generously many candidates and re-rank them with the exact float32 vectors (`sqlite.ts` does;
 * recall against an exact scan is tested in tests/library/vectors_test.ts).
 */
import { createInt8Scanner, type Int8Scanner, ROW_ALIGN } from "./int8_scan.ts";

const PAGE = 65536;

/** A candidate: the SQLite rowid and the estimated cosine similarity. */
export interface Candidate {
  rowid: number;
  score: number;
}

/** Rows in memory: int8 vectors, their scales, SQLite rowids and documents. */
export class VectorMatrix {
  readonly stride: number;
  #scanner: Int8Scanner;
  #size = 0;
  #capacity = 0;
  #scale = new Float32Array(0);
  #rowid = new Float64Array(0);
  #doc = new Int32Array(0);
  #docNumbers = new Map<string, number>();
  #maxRowid = 0;

  constructor(readonly dimensions: number) {
    this.stride = Math.ceil(dimensions / ROW_ALIGN) * ROW_ALIGN;
    this.#scanner = createInt8Scanner();
    this.#reserve(1024);
  }

  get size(): number {
    return this.#size;
  }

  /** The highest rowid held. */
  get maxRowid(): number {
    return this.#maxRowid;
  }

  /** Bytes: [0, stride) the query, then the rows, then one int32 score per row. */
  #reserve(rows: number) {
    if (rows <= this.#capacity) return;
    const capacity = Math.max(rows, this.#capacity * 2);
    const need = this.stride + capacity * (this.stride + 4);
    const memory = this.#scanner.memory;
    if (need > memory.buffer.byteLength) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    }
    const grow = <T extends Float32Array | Float64Array | Int32Array>(
      old: T,
      make: (n: number) => T,
    ) => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.#scale = grow(this.#scale, (n) => new Float32Array(n));
    this.#rowid = grow(this.#rowid, (n) => new Float64Array(n));
    this.#doc = grow(this.#doc, (n) => new Int32Array(n));
    this.#capacity = capacity;
  }

  /** Quantises `vector` into `out` (stride bytes); returns the factor back to cosine units. */
  #quantise(vector: Float32Array, out: Int8Array): number {
    const d = this.dimensions;
    let norm = 0;
    let max = 0;
    for (let j = 0; j < d; j++) {
      norm += vector[j] * vector[j];
      const a = Math.abs(vector[j]);
      if (a > max) max = a;
    }
    if (norm === 0 || max === 0) {
      out.fill(0);
      return 0;
    }
    const k = 127 / max;
    for (let j = 0; j < d; j++) out[j] = Math.round(vector[j] * k);
    out.fill(0, d);
    // cosine = (int dot) · (max/127)_row · (max/127)_query / (|row| · |query|)
    return 1 / (k * Math.sqrt(norm));
  }

  /** Adds one vector. */
  append(rowid: number, documentId: string, vector: Float32Array): void {
    this.#reserve(this.#size + 1);
    const r = this.#size;
    const row = new Int8Array(this.#scanner.memory.buffer, this.stride * (1 + r), this.stride);
    this.#scale[r] = this.#quantise(vector, row);
    this.#rowid[r] = rowid;
    let doc = this.#docNumbers.get(documentId);
    if (doc === undefined) this.#docNumbers.set(documentId, doc = this.#docNumbers.size);
    this.#doc[r] = doc;
    if (rowid > this.#maxRowid) this.#maxRowid = rowid;
    this.#size++;
  }

  /** Removes the rows of these documents, moving later rows down (no reload from disk). */
  removeDocuments(documentIds: Iterable<string>): void {
    const gone = new Set<number>();
    for (const id of documentIds) {
      const n = this.#docNumbers.get(id);
      if (n !== undefined) gone.add(n);
    }
    if (gone.size === 0) return;
    const bytes = new Int8Array(this.#scanner.memory.buffer);
    const s = this.stride;
    let w = 0;
    for (let r = 0; r < this.#size; r++) {
      if (gone.has(this.#doc[r])) continue;
      if (w !== r) {
        bytes.copyWithin(s * (1 + w), s * (1 + r), s * (2 + r));
        this.#scale[w] = this.#scale[r];
        this.#rowid[w] = this.#rowid[r];
        this.#doc[w] = this.#doc[r];
      }
      w++;
    }
    this.#size = w;
  }

  /**
   * The `count` rows with the highest estimated cosine similarity to `query`, best first,
   * optionally only rows of `docs`.
   */
  candidates(query: Float32Array, count: number, docs: Set<string> | null): Candidate[] {
    const n = this.#size;
    if (n === 0 || count <= 0) return [];
    const s = this.stride;
    const memory = this.#scanner.memory;
    const qScale = this.#quantise(query, new Int8Array(memory.buffer, 0, s));
    const out = s * (1 + this.#capacity);
    this.#scanner.scan(0, s, n, s, out);
    const dots = new Int32Array(memory.buffer, out, n);
    let allowed: Uint8Array | null = null;
    if (docs) {
      allowed = new Uint8Array(this.#docNumbers.size);
      for (const d of docs) {
        const num = this.#docNumbers.get(d);
        if (num !== undefined) allowed[num] = 1;
      }
    }
    const heap = new TopK(count);
    const scale = this.#scale;
    const doc = this.#doc;
    for (let r = 0; r < n; r++) {
      if (allowed && !allowed[doc[r]]) continue;
      heap.offer(r, dots[r] * scale[r] * qScale);
    }
    return heap.sorted().map(({ index, score }) => ({ rowid: this.#rowid[index], score }));
  }
}

/** The k largest scores seen, in a binary min-heap (the root is the one to beat). */
export class TopK {
  #index: Int32Array;
  #score: Float64Array;
  #n = 0;

  constructor(readonly k: number) {
    this.#index = new Int32Array(k);
    this.#score = new Float64Array(k);
  }

  offer(index: number, score: number): void {
    const k = this.k;
    if (this.#n < k) {
      let i = this.#n++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (this.#score[parent] <= score) break;
        this.#score[i] = this.#score[parent];
        this.#index[i] = this.#index[parent];
        i = parent;
      }
      this.#score[i] = score;
      this.#index[i] = index;
      return;
    }
    if (score <= this.#score[0]) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      const c = l + 1 < k && this.#score[l + 1] < this.#score[l] ? l + 1 : l;
      if (this.#score[c] >= score) break;
      this.#score[i] = this.#score[c];
      this.#index[i] = this.#index[c];
      i = c;
    }
    this.#score[i] = score;
    this.#index[i] = index;
  }

  /** Best first. */
  sorted(): { index: number; score: number }[] {
    const out = [];
    for (let i = 0; i < this.#n; i++) out.push({ index: this.#index[i], score: this.#score[i] });
    return out.sort((a, b) => b.score - a.score);
  }
}
