/**
 * Runs a run's queries on its engines: every (query, engine) pair, at most `concurrency` at a
 * time, each failure kept as a typed failure (the other pairs go on), every hit tagged with the
 * query that found it and deduplicated by URL or document location, best engine rank first.
 */
import { type SearchFailure, toSearchFailure } from "./errors.ts";
import type { SearchEngine, SearchHit } from "./types.ts";

/** A hit with the query that found it. */
export interface FoundHit extends SearchHit {
  query: string;
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

/** A stable identity for deduplication: the URL without fragment, or the document location. */
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
  return l
    ? `lib:${l.collection}:${l.document}:${l.page ?? ""}:${l.heading ?? ""}:${
      h.snippet.slice(0, 80)
    }`
    : h.title;
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
  opts: { limit: number; concurrency: number; signal?: AbortSignal; onHit?: (h: FoundHit) => void },
): Promise<MultiSearchResult> {
  const pairs = queries.flatMap((q) => engines.map((e) => ({ q, e })));
  const seen = new Set<string>();
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
        if (seen.has(key)) continue;
        seen.add(key);
        const found = { ...h, query: q };
        result.hits.push(found);
        opts.onHit?.(found);
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
