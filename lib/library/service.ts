/**
 * The Library: collections of documents indexed for search. Owns the index (opened lazily, so
 * the Library costs nothing until used), one indexing job per collection (resumed at start for
 * collections a previous process left indexing), auto-resume of paused collections when their
 * provider answers again, and the search the research pipeline calls (`search.ts`).
 */
import { join } from "node:path";
import type { ProviderService } from "../providers/service.ts";
import type { ProviderId } from "../settings/schema.ts";
import { DEFAULT_MAX_DOCUMENT_BYTES } from "../extract/types.ts";
import { DEFAULT_CHUNKING } from "./chunk.ts";
import { Embedder } from "./embedder.ts";
import { LibraryEvents } from "./events.ts";
import { FileStore } from "./files.ts";
import { openSqliteIndex } from "./index/sqlite.ts";
import type { LibraryIndex } from "./index/types.ts";
import { type JobDeps, runJob, spaceName } from "./job.ts";
import { DEFAULT_EMBEDDING_MODEL, prefixRuleFor } from "./prefixes.ts";
import { GET_MANY_MAX, LibraryStore } from "./store.ts";
import type { Collection, CollectionView, IndexTarget, LibraryDocument } from "./types.ts";
import { createImports, type Imports } from "./imports.ts";
import { createJobClaims } from "./lease.ts";
import { Watchers } from "./watchers.ts";
import { DEFAULT_LEASE_MS } from "../research/lease.ts";

/** What the Library is built from. */
export interface LibraryDeps {
  kv: Deno.Kv;
  /** Index and stored files live here. */
  dir: string;
  roots: string[];
  providers: ProviderService;
  now: () => number;
  log: (m: string) => void;
  shutdown: AbortSignal;
  /** Fetches a URL for import (the SSRF-safe fetcher, bound to the current settings). */
  fetchUrl: (
    url: string,
    signal?: AbortSignal,
  ) => Promise<{ url: string; bytes: Uint8Array; contentType: string }>;
  /** How often a paused collection checks whether its provider is back (ms). */
  resumePollMs?: number;
  /**
   * This process's lease on the jobs it runs (ms, default 15 s): another process on the same data
   * takes a job over this long after this one dies.
   */
  leaseMs?: number;
  batchSize?: number;
  concurrency?: number;
  maxDocumentBytes?: number;
}

/** The Library's operations (routes and the research engine call these). */
export interface LibraryService extends Imports {
  readonly store: LibraryStore;
  readonly events: LibraryEvents;
  index(): Promise<LibraryIndex>;
  embedder(target: IndexTarget): Embedder;
  createCollection(
    input: { name: string; provider?: ProviderId; model?: string },
  ): Promise<CollectionView>;
  renameCollection(id: string, name: string): Promise<CollectionView | null>;
  /** Changes the model: a re-index into a new space; the old one answers until it is done. */
  reindex(
    id: string,
    input?: { provider?: ProviderId; model?: string },
  ): Promise<CollectionView | null>;
  deleteCollection(id: string): Promise<boolean>;
  deleteDocument(collectionId: string, docId: string): Promise<boolean>;
  /** Starts (or restarts after a pause) the collection's job. */
  resume(id: string): Promise<void>;
  /** Waits for a collection's running job (tests, shutdown). */
  idle(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Builds the Library and resumes unfinished jobs. */
export function createLibraryService(deps: LibraryDeps): LibraryService {
  const store = new LibraryStore(deps.kv);
  const events = new LibraryEvents();
  const files = new FileStore(join(deps.dir, "files"));
  let indexPromise: Promise<LibraryIndex> | null = null;
  let closed = false;
  // The searchable spaces' vectors load in the background once the Library is first used, so
  // the first search does not wait for them (and a process that never uses it loads nothing).
  const warm = async (idx: LibraryIndex) => {
    for (const c of await store.collections()) {
      if (closed) return;
      await (await idx.existing(spaceName(c.id, c.index.generation)))?.warm();
    }
  };
  const index = () =>
    indexPromise ??= openSqliteIndex(deps.dir).then((idx) => {
      warm(idx).catch((e) => closed || deps.log(`library: could not preload vectors: ${e}`));
      return idx;
    });
  const jobs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Paused collections, asking whether their provider is back. */
  const pollers = new Watchers(deps.log);
  /** Collections whose job another live process runs, asking whether it is done or gone. */
  const claimWatchers = new Watchers(deps.log);
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const claims = createJobClaims(deps.kv, { leaseMs, now: deps.now, log: deps.log });

  const embedder = (target: IndexTarget) =>
    new Embedder({
      call: (req, signal) => deps.providers.embed(target.provider, req, signal),
      model: target.model,
      prefix: target.prefix,
      dimensions: target.dimensions,
      batchSize: deps.batchSize,
      concurrency: deps.concurrency,
    });
  const jobDeps: JobDeps = {
    store,
    files,
    events,
    index,
    embedder,
    chunking: DEFAULT_CHUNKING,
    maxDocumentBytes: deps.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES,
    now: deps.now,
    log: deps.log,
    owner: claims.owner,
  };

  /** Waits for the process holding `id`'s job to finish or die, then does what is left. */
  function watchClaim(id: string) {
    if (deps.shutdown.aborted) return;
    claimWatchers.watch(id, Math.max(50, Math.floor(leaseMs / 3)), async () => {
      if (!await claims.free(id)) return false;
      const c = await store.collection(id);
      if (c?.state === "paused") watchPaused(id);
      else if (c) {
        const docs = await store.documents(id);
        const left = docs.some((d) => d.state === "queued" || d.state === "indexing");
        if (c.state === "indexing" || left) queueMicrotask(() => start(id));
      }
      return true;
    });
  }

  /** Resumes a paused collection once its provider answers again. */
  function watchPaused(id: string) {
    if (deps.shutdown.aborted) return;
    pollers.watch(id, deps.resumePollMs ?? 5000, async () => {
      const c = await store.collection(id).catch(() => null);
      if (!c || c.state !== "paused") return true;
      const target = c.building ?? c.index;
      const status = await deps.providers.status(target.provider, { fresh: true }).catch(() =>
        null
      );
      if (status?.state !== "available") return false;
      queueMicrotask(() => start(id));
      return true;
    });
  }

  function start(id: string) {
    if (jobs.has(id) || deps.shutdown.aborted) return;
    claimWatchers.stop(id);
    const abort = new AbortController();
    let elsewhere = false;
    const done = (async () => {
      if (!await claims.claim(id)) {
        elsewhere = true;
        return watchClaim(id);
      }
      try {
        await runJob(jobDeps, id, abort.signal);
      } finally {
        await claims.release(id);
      }
    })().catch((e) => deps.log(`library job ${id} crashed: ${e instanceof Error ? e.stack : e}`))
      .finally(async () => {
        jobs.delete(id);
        const c = await store.collection(id).catch(() => null);
        if (abort.signal.aborted || !c || elsewhere) return;
        if (c.state === "paused") watchPaused(id);
        // Documents added while the job was finishing.
        else if ((await store.documents(id)).some((d) => d.state === "queued")) start(id);
      });
    jobs.set(id, { abort, done });
  }

  const stopJob = async (id: string) => {
    pollers.stop(id);
    claimWatchers.stop(id);
    const job = jobs.get(id);
    job?.abort.abort();
    await job?.done;
  };

  const view = async (id: string) => {
    const c = await store.collection(id);
    return c ? await store.view(c) : null;
  };

  const imports = createImports({
    store,
    files,
    roots: deps.roots,
    now: deps.now,
    fetchUrl: deps.fetchUrl,
    maxDocumentBytes: jobDeps.maxDocumentBytes,
    onQueued: (id) => start(id),
    events,
  });

  const service: LibraryService = {
    ...imports,
    store,
    events,
    index,
    embedder,
    async createCollection(input) {
      const provider = input.provider ?? "lmstudio";
      const model = input.model ?? DEFAULT_EMBEDDING_MODEL;
      const c: Collection = {
        id: crypto.randomUUID(),
        name: input.name,
        index: { generation: 1, provider, model, prefix: prefixRuleFor(model), dimensions: null },
        building: null,
        state: "idle",
        error: null,
        folders: [],
        createdAt: deps.now(),
        updatedAt: deps.now(),
      };
      await store.putCollection(c);
      return await store.view(c);
    },
    async renameCollection(id, name) {
      const c = await store.updateCollection(id, (c) => ({ ...c, name, updatedAt: deps.now() }));
      return c ? await store.view(c) : null;
    },
    async reindex(id, input = {}) {
      await stopJob(id);
      const c = await store.updateCollection(id, (c) => {
        const current = c.building ?? c.index;
        const model = input.model ?? current.model;
        return {
          ...c,
          building: {
            generation: Math.max(c.index.generation, c.building?.generation ?? 0) + 1,
            provider: input.provider ?? current.provider,
            model,
            prefix: prefixRuleFor(model),
            dimensions: null,
          },
          updatedAt: deps.now(),
        };
      });
      if (!c) return null;
      // An abandoned half-built generation is dropped.
      const idx = await index();
      const keep = [c.index.generation, c.building!.generation].map((g) => spaceName(id, g));
      const prefix = spaceName(id, 0).slice(0, -1);
      for (const n of await idx.names()) {
        if (n.startsWith(prefix) && !keep.includes(n)) await idx.drop(n);
      }
      // Every document queued again, ten to a commit rather than one commit each.
      const requeue = (d: LibraryDocument): LibraryDocument => ({
        ...d,
        state: "queued",
        error: null,
        errorKind: null,
      });
      const all = await store.documents(id);
      for (let at = 0; at < all.length; at += GET_MANY_MAX) {
        const group = all.slice(at, at + GET_MANY_MAX);
        await store.updateDocuments(id, group.map((d) => [d.id, requeue] as const));
      }
      await imports.rescanFolders(id);
      start(id);
      return await view(id);
    },
    async deleteCollection(id) {
      const c = await store.collection(id);
      if (!c) return false;
      await stopJob(id);
      const idx = await index();
      for (const g of [c.index.generation, c.building?.generation]) {
        if (g) await idx.drop(spaceName(id, g));
      }
      for (const d of await store.documents(id)) await files.remove(d.hash).catch(() => {});
      await store.deleteCollection(id);
      return true;
    },
    async deleteDocument(collectionId, docId) {
      const c = await store.collection(collectionId);
      const doc = await store.document(collectionId, docId);
      if (!c || !doc) return false;
      const idx = await index();
      for (const g of [c.index.generation, c.building?.generation]) {
        if (g) await (await idx.existing(spaceName(collectionId, g)))?.deleteDocuments([docId]);
      }
      await store.deleteDocument(doc);
      if (doc.source.kind !== "path") await files.remove(doc.hash);
      events.publish(collectionId, "collection", await store.view(c));
      return true;
    },
    resume(id) {
      pollers.stop(id);
      start(id);
      return Promise.resolve();
    },
    async idle(id) {
      while (jobs.has(id)) await jobs.get(id)!.done;
    },
    async close() {
      closed = true;
      pollers.stopAll();
      claimWatchers.stopAll();
      for (const id of [...jobs.keys()]) await stopJob(id);
      await claims.close();
      if (indexPromise) await (await indexPromise).close();
    },
  };

  // A previous process left these mid-way (kill -9, crash): pick them up.
  (async () => {
    for (const c of await store.collections()) {
      if (c.state === "indexing") start(c.id);
      else if (c.state === "paused") watchPaused(c.id);
    }
  })().catch((e) => deps.log(`library: could not resume jobs: ${e}`));
  deps.shutdown.addEventListener("abort", () => void service.close(), { once: true });
  return service;
}
