/**
 * Runs a run's queries on its engines: every (query, engine) pair, at most `concurrency` at a
 * time, each failure kept as a typed failure (the other pairs go on), every hit tagged with the
 * query that found it and grouped by document: one web page (URL without fragment) or one
 * Library document is one hit, the Library's several passages of it kept together as its
 * `parts`, so a document is one source with one citation number however many passages matched.
 */
import { type SearchFailure, toSearchFailure } from "./errors.ts";
import type { SearchEngine, SearchHit } from "./types.ts";

/** One matching passage of a Library document, where it sits in the document. */
export interface HitPart {
  text: string;
  page: number | null;
  heading: string | null;
}

/** Most passages one document keeps from the searches (the first ones found). */
export const MAX_PARTS_PER_DOCUMENT = 8;

/** A hit with the query that found it. */
export interface FoundHit extends SearchHit {
  query: string;
  /** Library hits: every passage of this document the searches returned, in order found. */
  parts?: HitPart[];
}

/** Everything a search step produced. */
export interface MultiSearchResult {
  hits: FoundHit[];
  notes: string[];
  /** One entry per failed (query, engine) pair. */
  failures: (SearchFailure & { query: string })[];
  /** Engines that failed on every query they were given. */
  failedEngines: string[];
}

/** A document's identity: the URL without fragment, or the Library collection and document. */
export function hitKey(h: SearchHit): string {
  if (h.url) {
    try {
      const u = new URL(h.url);
      u.hash = "";
      return u.href;
    } catch {
      return h.url;
    }
  }
  const l = h.location;
  return l ? `lib:${l.collection}:${l.document}` : h.title;
}

function partOf(h: SearchHit): HitPart {
  return {
    text: h.text ?? "",
    page: h.location?.page ?? null,
    heading: h.location?.heading ?? null,
  };
}

/**
 * Adds another passage of the same Library document to `found` (true when it was new): the
 * document-wide location keeps a page or heading only while every part shares it.
 */
function mergePart(found: FoundHit, h: SearchHit): boolean {
  if (h.text === undefined || !found.parts || found.parts.length >= MAX_PARTS_PER_DOCUMENT) {
    return false;
  }
  if (found.parts.some((p) => p.text === h.text)) return false;
  const part = partOf(h);
  found.parts.push(part);
  found.text = found.parts.map((p) => p.text).join("\n\n");
  if (found.location) {
    if (found.location.page !== part.page) found.location = { ...found.location, page: null };
    if (found.location.heading !== part.heading) {
      found.location = { ...found.location, heading: null };
    }
  }
  found.score = Math.max(found.score, h.score);
  return true;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Searches every query on every engine. */
export async function searchAll(
  queries: readonly string[],
  engines: readonly SearchEngine[],
  opts: {
    limit: number;
    concurrency: number;
    signal?: AbortSignal;
    /** A new document (`merged` false) or another passage of one found before (true). */
    onHit?: (h: FoundHit, merged: boolean) => void;
  },
): Promise<MultiSearchResult> {
  const pairs = queries.flatMap((q) => engines.map((e) => ({ q, e })));
  const seen = new Map<string, FoundHit>();
  const result: MultiSearchResult = { hits: [], notes: [], failures: [], failedEngines: [] };
  const okEngines = new Set<string>();
  await mapBounded(pairs, opts.concurrency, async ({ q, e }) => {
    if (opts.signal?.aborted) return;
    try {
      const r = await e.search(q, { limit: opts.limit, signal: opts.signal });
      okEngines.add(e.id);
      for (const n of r.notes) if (!result.notes.includes(n)) result.notes.push(n);
      for (const h of r.hits) {
        const key = hitKey(h);
        const known = seen.get(key);
        if (known) {
          if (mergePart(known, h)) opts.onHit?.(known, true);
          continue;
        }
        const found: FoundHit = {
          ...h,
          query: q,
          ...(h.text !== undefined ? { parts: [partOf(h)] } : {}),
        };
        seen.set(key, found);
        result.hits.push(found);
        opts.onHit?.(found, false);
      }
    } catch (err) {
      result.failures.push({ ...toSearchFailure(err, e.id), query: q });
    }
  });
  result.failedEngines = engines.filter((e) => !okEngines.has(e.id) && e.id !== "none").map((e) =>
    e.id
  );
  return result;
}
