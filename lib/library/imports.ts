/**
 * Getting documents into a collection: uploads (deduplicated by content hash), server paths
 * (files or folders, only under the configured roots; a folder is remembered and re-scanned by
 * content hash, so unchanged files are never re-embedded) and URLs (fetched once through the
 * SSRF-safe fetcher). Each new or changed document is queued and the collection's job started.
 */
import { basename } from "node:path";
import { formatOf } from "../extract/extract.ts";
import { ExtractError } from "../extract/types.ts";
import type { LibraryEvents } from "./events.ts";
import { checkUnderRoots, type FileStore, PathError, sha256, walkFolder } from "./files.ts";
import type { LibraryStore } from "./store.ts";
import type { DocumentSource, LibraryDocument } from "./types.ts";
import { mapBounded } from "../search/multi.ts";

/** Files of a folder scan read and hashed at the same time (each at most the size cap). */
const HASH_AT_ONCE = 4;

/** Outcome of adding a path. */
export interface ScanResult {
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  documents: LibraryDocument[];
}

/** The import operations. */
export interface Imports {
  addUpload(
    collectionId: string,
    name: string,
    bytes: Uint8Array,
  ): Promise<{ doc: LibraryDocument; duplicate: boolean }>;
  addPath(
    collectionId: string,
    input: { path: string; include?: string[]; exclude?: string[] },
  ): Promise<ScanResult>;
  addUrl(
    collectionId: string,
    url: string,
    signal?: AbortSignal,
  ): Promise<{ doc: LibraryDocument; duplicate: boolean }>;
  /** Re-scans every folder of the collection. */
  rescanFolders(collectionId: string): Promise<void>;
}

/** What imports need. */
export interface ImportDeps {
  store: LibraryStore;
  files: FileStore;
  events: LibraryEvents;
  roots: string[];
  now: () => number;
  maxDocumentBytes: number;
  fetchUrl: (
    url: string,
    signal?: AbortSignal,
  ) => Promise<{ url: string; bytes: Uint8Array; contentType: string }>;
  onQueued: (collectionId: string) => void;
}

/** Builds the import operations. */
export function createImports(deps: ImportDeps): Imports {
  const { store } = deps;

  function newDoc(
    collectionId: string,
    name: string,
    source: DocumentSource,
    hash: string,
    size: number,
  ): LibraryDocument {
    return {
      id: crypto.randomUUID().replace(/-/g, "").slice(0, 20),
      collectionId,
      name,
      source,
      hash,
      size,
      state: "queued",
      error: null,
      errorKind: null,
      title: null,
      format: formatOf(name),
      pages: null,
      chunks: 0,
      addedAt: deps.now(),
      indexedAt: null,
    };
  }

  async function addBytes(
    collectionId: string,
    name: string,
    bytes: Uint8Array,
    source: DocumentSource,
  ) {
    if (bytes.byteLength > deps.maxDocumentBytes) {
      throw new ExtractError(
        "too_large",
        `${name} is over the ${(deps.maxDocumentBytes / 1048576).toFixed(0)} MiB limit`,
      );
    }
    const hash = await sha256(bytes);
    const existing = await store.byHash(collectionId, hash);
    if (existing) return { doc: existing, duplicate: true };
    await deps.files.put(hash, bytes);
    const result = await store.insertDocument(
      newDoc(collectionId, name, source, hash, bytes.byteLength),
    );
    if (!result.duplicate) {
      deps.events.publish(collectionId, "document", result.doc);
      deps.onQueued(collectionId);
    }
    return result;
  }

  /**
   * Looks at one file found on disk: unchanged, changed (its record updated now), or new (a
   * record to insert, returned for `scan` to insert with the others). `stored` is the
   * collection's documents by hash, read once by `scan` and kept in step with its changes, so a
   * file costs no KV read of its own.
   */
  async function scanFile(
    collectionId: string,
    path: string,
    { hash, size }: { hash: string; size: number },
    byPath: Map<string, LibraryDocument>,
    stored: Map<string, LibraryDocument>,
    fresh: Map<string, LibraryDocument>,
  ) {
    const known = byPath.get(path);
    if (known) {
      if (known.hash === hash) return { doc: known, outcome: "unchanged" as const };
      const doc = {
        ...known,
        hash,
        size: size,
        state: "queued" as const,
        error: null,
        errorKind: null,
      };
      await store.putDocument(doc, known.hash);
      if (stored.get(known.hash)?.id === known.id) stored.delete(known.hash);
      stored.set(hash, doc);
      return { doc, outcome: "changed" as const };
    }
    // Same bytes elsewhere (stored, or earlier in this scan): nothing to add.
    const other = fresh.get(hash) ?? stored.get(hash);
    if (other) return { doc: other, outcome: "unchanged" as const };
    const doc = newDoc(
      collectionId,
      basename(path),
      { kind: "path", path },
      hash,
      size,
    );
    return { doc, outcome: "new" as const };
  }

  async function scan(
    collectionId: string,
    real: string,
    include: string[],
    exclude: string[],
    isDir: boolean,
  ): Promise<ScanResult> {
    const docs = await store.documents(collectionId);
    const byPath = new Map(
      docs.filter((d) => d.source.kind === "path").map((
        d,
      ) => [(d.source as { path: string }).path, d]),
    );
    const paths = isDir ? await walkFolder(real, include, exclude) : [real];
    const result: ScanResult = { added: 0, changed: 0, removed: 0, unchanged: 0, documents: [] };
    const note = (doc: LibraryDocument, outcome: "added" | "changed" | "unchanged") => {
      result[outcome]++;
      result.documents.push(doc);
      if (outcome !== "unchanged") deps.events.publish(collectionId, "document", doc);
    };
    const stored = new Map(docs.map((d) => [d.hash, d]));
    const fresh = new Map<string, LibraryDocument>();
    // Read and hashed a few at a time (the first embedding request waits for the whole scan),
    // then looked at in order.
    const digests = await mapBounded(paths, HASH_AT_ONCE, async (p) => {
      const bytes = await Deno.readFile(p);
      return { hash: await sha256(bytes), size: bytes.byteLength };
    });
    for (const [i, p] of paths.entries()) {
      const { doc, outcome } = await scanFile(collectionId, p, digests[i], byPath, stored, fresh);
      if (outcome === "new") fresh.set(doc.hash, doc);
      else note(doc, outcome);
    }
    for (const { doc, duplicate } of await store.insertDocuments([...fresh.values()])) {
      note(doc, duplicate ? "unchanged" : "added");
    }
    if (isDir) {
      const seen = new Set(paths);
      for (const [p, d] of byPath) {
        if ((p === real || p.startsWith(real + "/")) && !seen.has(p)) {
          // Removed from disk: its chunks go too (the job's orphan sweep deletes them).
          await store.deleteDocument(d);
          result.removed++;
        }
      }
    }
    if (result.added || result.changed || result.removed) deps.onQueued(collectionId);
    return result;
  }

  const imports: Imports = {
    addUpload: (collectionId, name, bytes) =>
      addBytes(collectionId, name, bytes, { kind: "upload" }),
    async addPath(collectionId, input) {
      const real = await checkUnderRoots(input.path, deps.roots);
      const stat = await Deno.stat(real);
      if (!stat.isDirectory && !formatOf(real)) {
        throw new PathError(`${input.path}: unsupported file type`, 400);
      }
      const include = input.include ?? [];
      const exclude = input.exclude ?? [];
      if (stat.isDirectory) {
        await store.updateCollection(collectionId, (c) => ({
          ...c,
          folders: [...c.folders.filter((f) => f.path !== real), { path: real, include, exclude }],
        }));
      }
      return await scan(collectionId, real, include, exclude, stat.isDirectory);
    },
    async addUrl(collectionId, url, signal) {
      const page = await deps.fetchUrl(url, signal);
      const last = new URL(page.url).pathname.split("/").filter(Boolean).pop() ??
        new URL(page.url).hostname;
      const ext = page.contentType === "application/pdf"
        ? ".pdf"
        : page.contentType === "text/plain"
        ? ".txt"
        : page.contentType === "text/markdown"
        ? ".md"
        : ".html";
      const name = formatOf(last) ? last : `${last}${ext}`;
      return await addBytes(collectionId, name, page.bytes, { kind: "url", url: page.url });
    },
    async rescanFolders(collectionId) {
      const c = await store.collection(collectionId);
      for (const f of c?.folders ?? []) {
        try {
          await checkUnderRoots(f.path, deps.roots);
          await scan(collectionId, f.path, f.include, f.exclude, true);
        } catch { /* a folder gone or no longer allowed is skipped */ }
      }
    },
  };
  return imports;
}
