/**
 * The Library's records as kept in Deno KV (keys in lib/kv/keys.ts) and shown by the API.
 * A collection names one embedding model; its chunks live in the index under a *space* per
 * index generation, so re-indexing with another model builds a new space while the old one
 * keeps answering searches.
 */
import type { ProviderId } from "../settings/schema.ts";
import type { PrefixRule } from "./prefixes.ts";

/** What a collection's chunks are embedded with. */
export interface IndexTarget {
  generation: number;
  provider: ProviderId;
  model: string;
  prefix: PrefixRule;
  /** Learned from the first answer; null until then. */
  dimensions: number | null;
}

/** A typed failure shown on a paused or failed collection. */
export interface CollectionError {
  kind: string;
  title: string;
  message: string;
  hint: string;
}

/** A folder the collection imports from (re-scanned on request). */
export interface FolderSource {
  path: string;
  include: string[];
  exclude: string[];
}

/** Collection states. */
export type CollectionState = "idle" | "indexing" | "paused" | "error";

/** A collection as stored. */
export interface Collection {
  id: string;
  name: string;
  /** The searchable index. */
  index: IndexTarget;
  /** A re-index in progress (another model, or a rebuild); null when none. */
  building: IndexTarget | null;
  state: CollectionState;
  error: CollectionError | null;
  folders: FolderSource[];
  createdAt: number;
  updatedAt: number;
}

/** What `libraryJobKey` holds: the process (owner lease id) running the collection's job. */
export interface JobClaim {
  owner: string;
  at: number;
}

/** Where a document's bytes come from. */
export type DocumentSource =
  | { kind: "upload" }
  | { kind: "path"; path: string }
  | { kind: "url"; url: string };

/** Document states. */
export type DocumentState = "queued" | "indexing" | "indexed" | "failed";

/** A document as stored. */
export interface LibraryDocument {
  id: string;
  collectionId: string;
  /** File name (or URL's last segment). */
  name: string;
  source: DocumentSource;
  /** SHA-256 of the content, hex. */
  hash: string;
  size: number;
  /** The hash whose chunks the index holds (or is receiving); differs from `hash` after an edit. */
  indexedHash?: string | null;
  state: DocumentState;
  /** One-line reason when failed. */
  error: string | null;
  errorKind: string | null;
  title: string | null;
  format: string | null;
  pages: number | null;
  chunks: number;
  addedAt: number;
  indexedAt: number | null;
}

/** A collection with its counts, as the API returns it. */
export interface CollectionView extends Collection {
  documents: number;
  chunks: number;
  failed: number;
}

/** Live progress of a collection's indexing job. */
export interface Progress {
  state: CollectionState;
  docsTotal: number;
  docsDone: number;
  chunksEmbedded: number;
  chunksPerSecond: number | null;
  etaSeconds: number | null;
  currentFile: string | null;
  error: CollectionError | null;
}
