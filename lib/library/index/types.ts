/**
 * The Library's index behind one small interface, so the embedded engine (LanceDB, chosen in
 * docs/decisions/library-index.md) can be joined by a server backend (PostgreSQL + pgvector,
 * Qdrant) without touching callers. tests/library/index_conformance.ts is the contract every
 * backend passes.
 *
 * A *space* holds the chunks of one collection embedded by one model (one vector size). A
 * collection that changes model gets a new space and keeps the old one searchable until the new
 * one is complete, so spaces are named by the caller (collection id + generation).
 */

/** A chunk's text and where in its document it stands (the chunker's output and the index's). */
export interface ChunkText {
  /** Position of the chunk in its document, from 0. */
  ord: number;
  text: string;
  /** Page number from 1 (PDF), or null. */
  page: number | null;
  /** Heading path ("Intro > Setup") joined by " > ", or null. */
  heading: string | null;
  /** Character range in the document's extracted text, end exclusive. */
  start: number;
  end: number;
}

/** One chunk as stored: where it comes from, its text, and its vector. */
export interface ChunkRecord extends ChunkText {
  /** `<documentId>:<ord>`: deterministic, so re-adding after a crash is detectable. */
  id: string;
  collectionId: string;
  documentId: string;
  vector: Float32Array;
}

/** A chunk without its vector, as search returns it. */
export type StoredChunk = Omit<ChunkRecord, "vector">;

/** What a search asks for. At least one of `vector` and `text` is given. */
export interface IndexQuery {
  vector?: Float32Array;
  text?: string;
  /** Restrict to these documents. */
  documentIds?: string[];
  k: number;
}

/** One hit: fused score and the per-signal scores that produced it. */
export interface IndexHit {
  chunk: StoredChunk;
  /** Reciprocal-rank-fusion score (higher is better). */
  score: number;
  scores: { vector?: number; keyword?: number };
}

/** The chunks of one collection under one embedding model. */
export interface IndexSpace {
  readonly name: string;
  readonly dimensions: number;
  /** Appends chunks as one durable commit: after it resolves they survive a kill -9. */
  add(chunks: ChunkRecord[]): Promise<void>;
  /** Removes every chunk of these documents (one commit). */
  deleteDocuments(documentIds: string[]): Promise<void>;
  /** Removes every chunk whose document is not in `keep` (orphans after a crash). */
  retainDocuments(keep: string[]): Promise<number>;
  /** The `ord`s stored for one document, ascending (resume skips them). */
  ordsOf(documentId: string): Promise<number[]>;
  /** Number of chunks, optionally of one document. */
  count(documentId?: string): Promise<number>;
  /** Hybrid search: vector and keyword results fused by reciprocal rank. */
  search(query: IndexQuery): Promise<IndexHit[]>;
  /** Compacts and (re)builds indices; called when an indexing job finishes. */
  optimize(): Promise<void>;
  /**
   * Loads what searches need into memory ahead of the first one (a no-op for a server backend);
   * searches work without it, the first one then waits for the same load.
   */
  warm(): Promise<void>;
}

/** An opened index: a directory of spaces. */
export interface LibraryIndex {
  /** Opens the space, creating it empty when absent. Refuses a space of another dimension. */
  space(name: string, dimensions: number): Promise<IndexSpace>;
  /** The space if it exists. */
  existing(name: string): Promise<IndexSpace | null>;
  drop(name: string): Promise<void>;
  names(): Promise<string[]>;
  close(): Promise<void>;
}

/** Why the index cannot be used (engine missing, wrong dimension, bad name). */
export class IndexError extends Error {
  constructor(
    readonly kind: "unavailable" | "dimensions" | "invalid",
    message: string,
    readonly hint = "",
  ) {
    super(message);
    this.name = "IndexError";
  }
}

/** Names and ids interpolated into engine filters: letters, digits, `_` and `-` only. */
export function checkIdentifier(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) {
    throw new IndexError("invalid", `Not a valid index identifier: ${JSON.stringify(id)}`);
  }
  return id;
}
