/**
 * One SQLite space's vectors in memory (`vectors.ts`), kept in step with the file, which stays
 * the only truth (nothing derived is persisted, so a kill -9 cannot leave it stale):
 *
 * - Loaded on first need in slices of `slice` rows with the event loop let through between them,
 *   so loading 100 000 vectors (≈ 2-3 s) never stalls the server's other requests. Searches meanwhile
 *   wait for the same load; rows committed during it are read by the load itself (rowids only
 *   grow, so they come after every row read so far) and this connection's deletes are applied at
 *   once to the rows loaded so far (deferring them to the end would also drop rows the document
 *   got again after the delete, as a re-index does).
 * - Follows this connection's deletes directly, and other connections' commits before each
 *   search (`PRAGMA data_version` moves on them): the adds of this process's writer thread
 *   (`sqlite_writer.ts`) and whatever other processes do. Rows past the newest one held are
 *   appended; if the count still differs, something was deleted there and the vectors are
 *   loaded again.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { VectorMatrix } from "./vectors.ts";

/** Rows read per slice of a load. */
export const LOAD_SLICE = 4096;

const yieldToEventLoop = () => new Promise<void>((r) => setTimeout(r, 0));

/** The vectors of space `space` in `db`. */
export class SpaceVectors {
  #matrix: VectorMatrix | null = null;
  #loading: Promise<VectorMatrix> | null = null;
  /** The matrix a load is filling (deletes during the load apply to it). */
  #partial: VectorMatrix | null = null;
  #seenVersion = -1;
  #version: StatementSync;
  #rows: StatementSync;
  #count: StatementSync;

  constructor(
    private db: DatabaseSync,
    private space: string,
    private dimensions: number,
    private slice: number = LOAD_SLICE,
  ) {
    this.#version = db.prepare(`PRAGMA data_version`);
    // `+space`: walk the table in rowid order from a rowid rather than through the (space,
    // document) index, which would read the rows in random order (5× slower at 100k).
    this.#rows = db.prepare(
      `SELECT rowid, document_id, vector FROM chunks WHERE rowid > ? AND +space = ?
       ORDER BY rowid LIMIT ?`,
    );
    this.#count = db.prepare(`SELECT count(*) AS n FROM chunks WHERE space = ?`);
  }

  /** Rows after `afterRowid`, at most `limit`; returns how many were appended. */
  #append(matrix: VectorMatrix, afterRowid: number, limit: number): number {
    let n = 0;
    for (const r of this.#rows.iterate(afterRowid, this.space, limit)) {
      const bytes = r.vector as Uint8Array;
      matrix.append(
        Number(r.rowid),
        String(r.document_id),
        new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
      );
      n++;
    }
    return n;
  }

  #dataVersion(): number {
    return Number(this.#version.get()?.data_version ?? 0);
  }

  async #load(): Promise<VectorMatrix> {
    const version = this.#dataVersion();
    const matrix = new VectorMatrix(this.dimensions);
    this.#partial = matrix;
    try {
      while (this.#append(matrix, matrix.maxRowid, this.slice) === this.slice) {
        await yieldToEventLoop();
        if (!this.db.isOpen) throw new Error("the index was closed while loading");
      }
    } finally {
      this.#partial = null;
    }
    this.#seenVersion = version;
    return this.#matrix = matrix;
  }

  /** The vectors, current with the file. */
  async ready(): Promise<VectorMatrix> {
    if (this.#loading) return await this.#loading;
    const version = this.#dataVersion();
    const matrix = this.#matrix;
    if (matrix && version === this.#seenVersion) return matrix;
    if (matrix) {
      // One read transaction: the rows appended and the count are of the same snapshot, though
      // the writer thread (or another process) commits in between.
      this.db.exec("BEGIN");
      let whole: boolean;
      try {
        this.#append(matrix, matrix.maxRowid, Number.MAX_SAFE_INTEGER);
        whole = matrix.size === Number(this.#count.get(this.space)?.n ?? 0);
      } finally {
        this.db.exec("COMMIT");
      }
      if (whole) {
        this.#seenVersion = version;
        return matrix;
      }
      this.#matrix = null;
    }
    this.#loading = this.#load();
    try {
      return await this.#loading;
    } finally {
      this.#loading = null;
    }
  }

  /** Documents this process deleted. */
  deleted(documentIds: string[]): void {
    (this.#matrix ?? this.#partial)?.removeDocuments(documentIds);
  }
}
