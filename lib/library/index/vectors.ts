/**
 * Nearest-neighbour candidates over one space's vectors, held in memory as int8: each vector is
 * normalised, scaled so its largest component is ±127 and rounded, and each component v stored as
 * its two 4-bit halves in two planes of a WebAssembly memory (`int8_scan.ts`): H = (v >> 4) + 8
 * and L = v & 15, so v = 16·(H − 8) + L. A search scans the H plane of every row (half the bytes:
 * the scan is bound by memory bandwidth) for an estimate, and reads the L plane of the rows whose
 * estimate comes near enough to the best ones (`MARGIN_SIGMAS`) for their exact int8 dot product,
 * the score a full int8 scan gives. The int8 score is itself an estimate (per-component rounding error
 * ≤ 1/254 of the row's largest component), so callers take generously many candidates and
 * re-rank them with the exact float32 vectors (`sqlite.ts` does; recall against an exact scan is
 * tested in tests/library/vectors_test.ts and tests/library/index_conformance_scale.ts).
 */
import { createInt8Scanner, type Int8Scanner, ROW_ALIGN } from "./int8_scan.ts";

const PAGE = 65536;

/**
 * How far below the count-th best H-plane estimate a row's estimate may be and still get its
 * exact int8 score, in spreads of the estimate's error (its standard deviation were the L
 * nibbles' deviations from their mean independent of the query's components).
 */
export const MARGIN_SIGMAS = 8;

/** A candidate: the SQLite rowid and the estimated cosine similarity. */
export interface Candidate {
  rowid: number;
  score: number;
}

/** Rows in memory: int8 vectors (as two nibble planes), their scales, SQLite rowids and documents. */
export class VectorMatrix {
  /** Components per row, padded to `ROW_ALIGN`; a plane's row is half as many bytes. */
  readonly stride: number;
  readonly #half: number;
  #scanner: Int8Scanner;
  #size = 0;
  #capacity = 0;
  #scale = new Float32Array(0);
  /** Per row: the mean of its L nibbles, what the H-plane estimate assumes for each. */
  #loMean = new Float32Array(0);
  /** Per row: the standard deviation of its L nibbles times its scale (the estimate's spread). */
  #loSpread = new Float32Array(0);
  /** Per row: the H-plane estimate of the last search. */
  #estimate = new Float64Array(0);
  #rowid = new Float64Array(0);
  #doc = new Int32Array(0);
  #docNumbers = new Map<string, number>();
  #maxRowid = 0;
  #row: Int8Array;
  /** The scanner's memory as bytes (renewed when it grows). */
  #bytes = new Uint8Array(0);

  constructor(readonly dimensions: number) {
    this.stride = Math.ceil(dimensions / ROW_ALIGN) * ROW_ALIGN;
    this.#half = this.stride / 2;
    this.#row = new Int8Array(this.stride);
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

  /** Where the L plane starts: [0, stride) holds the query, then the H plane, then the L one. */
  #lBase(capacity = this.#capacity): number {
    return this.stride + capacity * this.#half;
  }

  /** After the planes: per row an int32 H score, an int32 row number, an int32 L score. */
  #region(i: 0 | 1 | 2): number {
    return this.stride * (1 + this.#capacity) + 4 * i * this.#capacity;
  }

  #reserve(rows: number) {
    if (rows <= this.#capacity) return;
    const capacity = Math.max(rows, this.#capacity * 2);
    const need = this.stride + capacity * (this.stride + 12);
    const memory = this.#scanner.memory;
    if (need > memory.buffer.byteLength) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    }
    const from = this.#lBase();
    this.#bytes = new Uint8Array(memory.buffer); // the old view is detached by a grow
    this.#bytes.copyWithin(
      this.#lBase(capacity),
      from,
      from + this.#size * this.#half,
    );
    const grow = <T extends Float32Array | Float64Array | Int32Array>(
      old: T,
      make: (n: number) => T,
    ) => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.#scale = grow(this.#scale, (n) => new Float32Array(n));
    this.#loMean = grow(this.#loMean, (n) => new Float32Array(n));
    this.#loSpread = grow(this.#loSpread, (n) => new Float32Array(n));
    this.#estimate = new Float64Array(capacity);
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
    // floor(x + 0.5): Math.round but where x + 0.5 itself rounds (x within 2^-53 of a half: either
    // integer is as near), and twice as fast in V8 (the rounding was most of the ~1.2 s that
    // quantising 100 000 × 768 took on a first search).
    for (let j = 0; j < d; j++) out[j] = Math.floor(vector[j] * k + 0.5);
    out.fill(0, d);
    // cosine = (int dot) · (max/127)_row · (max/127)_query / (|row| · |query|)
    return 1 / (k * Math.sqrt(norm));
  }

  /** Adds one vector. */
  append(rowid: number, documentId: string, vector: Float32Array): void {
    this.#reserve(this.#size + 1);
    const r = this.#size;
    const t = this.#row;
    this.#scale[r] = this.#quantise(vector, t);
    const bytes = this.#bytes;
    const half = this.#half, stride = this.stride;
    const h = stride + r * half;
    const l = this.#lBase() + r * half;
    let lo = 0;
    let lo2 = 0;
    // Per 32 components from c: byte c/2 + j holds c + j (low nibble) and c + 16 + j (high).
    for (let c = 0; c < stride; c += 32) {
      for (let j = 0; j < 16; j++) {
        const a = t[c + j], b = t[c + 16 + j];
        bytes[h + c / 2 + j] = ((a >> 4) + 8) | (((b >> 4) + 8) << 4);
        bytes[l + c / 2 + j] = (a & 15) | ((b & 15) << 4);
        lo += (a & 15) + (b & 15);
        lo2 += (a & 15) * (a & 15) + (b & 15) * (b & 15);
      }
    }
    const d = this.dimensions;
    this.#loMean[r] = lo / d;
    this.#loSpread[r] = Math.sqrt(Math.max(0, lo2 / d - (lo / d) ** 2)) * this.#scale[r];
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
    const bytes = new Uint8Array(this.#scanner.memory.buffer);
    const half = this.#half;
    const planes = [this.stride, this.#lBase()];
    let w = 0;
    for (let r = 0; r < this.#size; r++) {
      if (gone.has(this.#doc[r])) continue;
      if (w !== r) {
        for (const p of planes) bytes.copyWithin(p + half * w, p + half * r, p + half * (r + 1));
        this.#scale[w] = this.#scale[r];
        this.#loMean[w] = this.#loMean[r];
        this.#loSpread[w] = this.#loSpread[r];
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
    const memory = this.#scanner.memory;
    const q = new Int8Array(memory.buffer, 0, this.stride);
    const qScale = this.#quantise(query, q);
    let qSum = 0;
    for (let j = 0; j < this.dimensions; j++) qSum += q[j];
    const [hOut, idx, lOut] = [this.#region(0), this.#region(1), this.#region(2)];
    this.#scanner.scan(0, this.stride, n, this.#half, hOut, 0);
    const hDot = new Int32Array(memory.buffer, hOut, n);
    let allowed: Uint8Array | null = null;
    if (docs) {
      allowed = new Uint8Array(this.#docNumbers.size);
      for (const d of docs) {
        const num = this.#docNumbers.get(d);
        if (num !== undefined) allowed[num] = 1;
      }
    }
    const scale = this.#scale;
    const doc = this.#doc;
    // Σ v·q = 16·Σ H·q + Σ L·q − 128·Σ q; the estimate takes each L as its row's mean, so it
    // is off by Σ (L − mean)·q, whose spread is about sd(L)·|q|. Every row whose estimate comes
    // within MARGIN_SIGMAS spreads of the count-th best estimate gets its exact score.
    const est = this.#estimate;
    const loMean = this.#loMean;
    const best = new TopK(count);
    let floor = -Infinity;
    for (let r = 0; r < n; r++) {
      if (allowed && !allowed[doc[r]]) {
        est[r] = -Infinity;
        continue;
      }
      const e = (16 * hDot[r] + (loMean[r] - 128) * qSum) * scale[r];
      est[r] = e;
      if (e > floor) floor = best.offer(r, e);
    }
    let qNorm = 0;
    for (let j = 0; j < this.dimensions; j++) qNorm += q[j] * q[j];
    const margin = MARGIN_SIGMAS * Math.sqrt(qNorm);
    const cut = best.size < count ? -Infinity : best.min;
    const spread = this.#loSpread;
    const picked = new Int32Array(memory.buffer, idx, n);
    let m = 0;
    for (let r = 0; r < n; r++) {
      if (est[r] + margin * spread[r] >= cut && est[r] !== -Infinity) picked[m++] = r;
    }
    const rows = picked.subarray(0, m);
    this.#scanner.gather(0, this.#lBase(), m, this.#half, lOut, idx);
    const lDot = new Int32Array(memory.buffer, lOut, m);
    const heap = new TopK(count);
    for (let i = 0; i < m; i++) {
      const r = rows[i];
      heap.offer(r, (16 * hDot[r] + lDot[i] - 128 * qSum) * scale[r] * qScale);
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

  /** The number of scores held. */
  get size(): number {
    return this.#n;
  }

  /** The lowest score held (the one to beat once k are held). */
  get min(): number {
    return this.#score[0];
  }

  /** Offers a score; returns the score to beat from now on (-Infinity until k are held). */
  offer(index: number, score: number): number {
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
      return this.#n < k ? -Infinity : this.#score[0];
    }
    if (score <= this.#score[0]) return this.#score[0];
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
    return this.#score[0];
  }

  /** Best first. */
  sorted(): { index: number; score: number }[] {
    const out = [];
    for (let i = 0; i < this.#n; i++) out.push({ index: this.#index[i], score: this.#score[i] });
    return out.sort((a, b) => b.score - a.score);
  }
}
