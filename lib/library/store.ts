/**
 * Collections and documents in Deno KV. Adds are atomic with their content-hash entry, so two
 * uploads of the same bytes at once produce one document; deletes remove the record and its
 * hash entry together.
 */
import {
  collectionKey,
  COLLECTIONS_PREFIX,
  libraryDocKey,
  libraryDocsPrefix,
  libraryHashKey,
  libraryHashPrefix,
  libraryJobKey,
} from "../kv/keys.ts";
import type { Collection, CollectionView, JobClaim, LibraryDocument } from "./types.ts";

/** Keys one `getMany` reads at most (Deno KV's limit), so documents per read-then-write commit. */
export const GET_MANY_MAX = 10;

/** Keys per atomic commit when a collection's records are deleted. */
const DELETE_GROUP = 100;

/** Documents per atomic commit of `insertDocuments` (one check each: KV allows 100 per commit). */
const INSERT_GROUP = 50;

/** The KV side of the Library. */
export class LibraryStore {
  constructor(private kv: Deno.Kv) {}

  async collection(id: string): Promise<Collection | null> {
    return (await this.kv.get<Collection>(collectionKey(id))).value;
  }

  /**
   * The collection and the owner of its job claim in one read (one snapshot), which the indexing
   * job checks before every document: one KV call instead of two.
   */
  async collectionAndClaim(
    id: string,
  ): Promise<{ collection: Collection | null; claimOwner: string | null }> {
    const [c, j] = await this.kv.getMany<[Collection, JobClaim]>([
      collectionKey(id),
      libraryJobKey(id),
    ]);
    return { collection: c.value, claimOwner: j.value?.owner ?? null };
  }

  async collections(): Promise<Collection[]> {
    const out: Collection[] = [];
    for await (const e of this.kv.list<Collection>({ prefix: COLLECTIONS_PREFIX })) {
      out.push(e.value);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async putCollection(c: Collection): Promise<void> {
    await this.kv.set(collectionKey(c.id), c);
  }

  /** Applies `change` to the stored collection (retrying on concurrent writes). */
  async updateCollection(
    id: string,
    change: (c: Collection) => Collection,
  ): Promise<Collection | null> {
    for (;;) {
      const entry = await this.kv.get<Collection>(collectionKey(id));
      if (!entry.value) return null;
      const next = change(entry.value);
      const res = await this.kv.atomic().check(entry).set(collectionKey(id), next).commit();
      if (res.ok) return next;
    }
  }

  async documents(collectionId: string): Promise<LibraryDocument[]> {
    const out: LibraryDocument[] = [];
    const iter = this.kv.list<LibraryDocument>({ prefix: libraryDocsPrefix(collectionId) });
    for await (const e of iter) out.push(e.value);
    return out.sort((a, b) => a.addedAt - b.addedAt || a.id.localeCompare(b.id));
  }

  async document(collectionId: string, docId: string): Promise<LibraryDocument | null> {
    return (await this.kv.get<LibraryDocument>(libraryDocKey(collectionId, docId))).value;
  }

  /**
   * The documents of `ids` that exist, by id: `getMany` reads of ten keys (its limit), so a
   * search resolves its hits without listing the whole collection.
   */
  async documentsById(
    collectionId: string,
    ids: Iterable<string>,
  ): Promise<Map<string, LibraryDocument>> {
    const unique = [...new Set(ids)];
    const out = new Map<string, LibraryDocument>();
    for (let at = 0; at < unique.length; at += GET_MANY_MAX) {
      const keys = unique.slice(at, at + GET_MANY_MAX).map((id) => libraryDocKey(collectionId, id));
      for (const e of await this.kv.getMany<LibraryDocument[]>(keys)) {
        if (e.value) out.set(e.value.id, e.value);
      }
    }
    return out;
  }

  /** The document holding `hash` in the collection, if any. */
  async byHash(collectionId: string, hash: string): Promise<LibraryDocument | null> {
    const id = (await this.kv.get<string>(libraryHashKey(collectionId, hash))).value;
    return id ? await this.document(collectionId, id) : null;
  }

  /** Inserts a document unless its hash is already there; returns the one that holds it. */
  async insertDocument(
    doc: LibraryDocument,
  ): Promise<{ doc: LibraryDocument; duplicate: boolean }> {
    const hashKey = libraryHashKey(doc.collectionId, doc.hash);
    const res = await this.kv.atomic()
      .check({ key: hashKey, versionstamp: null })
      .set(hashKey, doc.id)
      .set(libraryDocKey(doc.collectionId, doc.id), doc)
      .commit();
    if (res.ok) return { doc, duplicate: false };
    const existing = await this.byHash(doc.collectionId, doc.hash);
    return existing ? { doc: existing, duplicate: true } : this.insertDocument(doc);
  }

  /**
   * Inserts documents of distinct hashes in atomic groups, so a folder import costs a commit per
   * group rather than per file; a group that meets a hash already there is inserted one by one,
   * each deduplicated as `insertDocument` does.
   */
  async insertDocuments(
    docs: LibraryDocument[],
  ): Promise<{ doc: LibraryDocument; duplicate: boolean }[]> {
    const out: { doc: LibraryDocument; duplicate: boolean }[] = [];
    for (let at = 0; at < docs.length; at += INSERT_GROUP) {
      const group = docs.slice(at, at + INSERT_GROUP);
      const op = this.kv.atomic();
      for (const d of group) {
        const hashKey = libraryHashKey(d.collectionId, d.hash);
        op.check({ key: hashKey, versionstamp: null }).set(hashKey, d.id)
          .set(libraryDocKey(d.collectionId, d.id), d);
      }
      if ((await op.commit()).ok) out.push(...group.map((doc) => ({ doc, duplicate: false })));
      else for (const d of group) out.push(await this.insertDocument(d));
    }
    return out;
  }

  /** Replaces a document record (its hash entry follows a changed hash). */
  async putDocument(doc: LibraryDocument, previousHash?: string): Promise<void> {
    const op = this.kv.atomic().set(libraryDocKey(doc.collectionId, doc.id), doc);
    if (previousHash && previousHash !== doc.hash) {
      op.delete(libraryHashKey(doc.collectionId, previousHash));
      op.set(libraryHashKey(doc.collectionId, doc.hash), doc.id);
    }
    await op.commit();
  }

  async updateDocument(
    collectionId: string,
    docId: string,
    change: (d: LibraryDocument) => LibraryDocument,
  ): Promise<LibraryDocument | null> {
    for (;;) {
      const entry = await this.kv.get<LibraryDocument>(libraryDocKey(collectionId, docId));
      if (!entry.value) return null;
      const next = change(entry.value);
      const res = await this.kv.atomic().check(entry).set(entry.key, next).commit();
      if (res.ok) return next;
    }
  }

  /**
   * Applies several documents' changes in one atomic commit (at most 10: KV's `getMany` limit),
   * retrying on concurrent writes; a document gone meanwhile is left out and maps to null.
   */
  async updateDocuments(
    collectionId: string,
    changes: [docId: string, change: (d: LibraryDocument) => LibraryDocument][],
  ): Promise<(LibraryDocument | null)[]> {
    if (changes.length > GET_MANY_MAX) {
      throw new RangeError(`at most ${GET_MANY_MAX} documents per commit`);
    }
    for (;;) {
      const entries = await this.kv.getMany<LibraryDocument[]>(
        changes.map(([id]) => libraryDocKey(collectionId, id)),
      );
      const op = this.kv.atomic();
      const out = entries.map((entry, i) => {
        if (!entry.value) return null;
        const next = changes[i][1](entry.value);
        op.check(entry).set(entry.key, next);
        return next;
      });
      if ((await op.commit()).ok) return out;
    }
  }

  async deleteDocument(doc: LibraryDocument): Promise<void> {
    await this.kv.atomic()
      .delete(libraryDocKey(doc.collectionId, doc.id))
      .delete(libraryHashKey(doc.collectionId, doc.hash))
      .commit();
  }

  /** Removes the collection and every document record of it. */
  async deleteCollection(id: string): Promise<void> {
    for (const prefix of [libraryDocsPrefix(id), libraryHashPrefix(id)]) {
      // One commit per group of keys rather than per key (well under KV's mutation limit).
      let op = this.kv.atomic();
      let n = 0;
      for await (const e of this.kv.list({ prefix })) {
        op.delete(e.key);
        if (++n % DELETE_GROUP === 0) {
          await op.commit();
          op = this.kv.atomic();
        }
      }
      if (n % DELETE_GROUP) await op.commit();
    }
    await this.kv.delete(collectionKey(id));
  }

  /** The collection with its document and chunk counts. */
  async view(c: Collection): Promise<CollectionView> {
    const docs = await this.documents(c.id);
    return {
      ...c,
      documents: docs.length,
      chunks: docs.reduce((n, d) => n + (d.state === "indexed" ? d.chunks : 0), 0),
      failed: docs.filter((d) => d.state === "failed").length,
    };
  }
}
