/**
 * A run's text in KV. Values are capped at 64 KiB, so the text is stored as numbered chunks of at
 * most `CHUNK_CHARS` UTF-16 units (V8 serialises strings as one or two bytes per unit, so a chunk
 * stays under 32 KiB whatever the script). Appends only rewrite the last chunk, so flushing a
 * streaming answer costs one small write, not a rewrite of everything so far.
 */
import { runTextKey } from "../kv/keys.ts";

/** The part of an atomic operation that stages writes (lets the caller count them). */
export interface KvWrites {
  set(key: Deno.KvKey, value: unknown): unknown;
  delete(key: Deno.KvKey): unknown;
}

/** Chunk size in UTF-16 code units. */
export const CHUNK_CHARS = 16_000;

/** Number of chunks a text of `length` units occupies. */
export function chunkCount(length: number): number {
  return Math.ceil(length / CHUNK_CHARS);
}

/** The in-memory text of a live run, tracking which chunks changed since the last flush. */
export interface TextBuffer {
  readonly text: string;
  append(s: string): void;
  /** Replaces everything (e.g. reordering a finished report); rewrites all chunks at flush. */
  replace(s: string): void;
  /** Cuts the text back to `length` units; rewrites only the chunks from there on. */
  truncate(length: number): void;
  /** Adds the changed chunks (and deletes of chunks no longer used) to `op`; returns the count. */
  stage(op: KvWrites, id: string): number;
  /** The staged writes committed. */
  committed(): void;
  /** The staged writes did not commit: they stay dirty for the next flush. */
  failed(): void;
  readonly dirty: boolean;
}

/** A buffer starting from already stored text (`storedChunks` is what KV holds now). */
export function createTextBuffer(initial = "", storedChunks = chunkCount(initial.length)) {
  let text = initial;
  let persistedChunks = storedChunks;
  let dirtyFrom = Infinity; // first chunk index whose content changed since the last stage
  let staged: { dirtyFrom: number; chunks: number } | null = null;

  const buffer: TextBuffer = {
    get text() {
      return text;
    },
    get dirty() {
      return dirtyFrom !== Infinity;
    },
    append(s) {
      if (!s) return;
      dirtyFrom = Math.min(dirtyFrom, Math.floor(text.length / CHUNK_CHARS));
      text += s;
    },
    replace(s) {
      text = s;
      dirtyFrom = 0;
    },
    truncate(length) {
      if (length >= text.length) return;
      text = text.slice(0, Math.max(0, length));
      dirtyFrom = Math.min(dirtyFrom, Math.floor(text.length / CHUNK_CHARS));
    },
    stage(op, id) {
      const chunks = chunkCount(text.length);
      if (dirtyFrom !== Infinity) {
        for (let i = dirtyFrom; i < chunks; i++) {
          op.set(runTextKey(id, i), text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS));
        }
        for (let i = chunks; i < persistedChunks; i++) op.delete(runTextKey(id, i));
      }
      staged = { dirtyFrom, chunks };
      dirtyFrom = Infinity;
      return chunks;
    },
    committed() {
      if (staged) persistedChunks = staged.chunks;
      staged = null;
    },
    failed() {
      if (staged) dirtyFrom = Math.min(dirtyFrom, staged.dirtyFrom);
      staged = null;
    },
  };
  return buffer;
}

/** Reads a run's whole text (chunks in key order). */
export async function readText(kv: Deno.Kv, id: string, chunks: number): Promise<string> {
  const parts: string[] = [];
  for (let start = 0; start < chunks; start += 10) {
    const keys = [];
    for (let i = start; i < Math.min(chunks, start + 10); i++) keys.push(runTextKey(id, i));
    for (const entry of await kv.getMany<string[]>(keys)) parts.push(entry.value ?? "");
  }
  return parts.join("");
}
