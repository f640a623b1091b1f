/**
 * Building a run's engines from ids and the settings, and the engine statuses the Status page
 * shows next to the LLM providers. The only place that maps an engine id to its module.
 */
import type { AppContext } from "../context.ts";
import { hasCollections, librarySearchFnFor } from "../library/engine_fn.ts";
import { COLLECTIONS_PREFIX, kvList } from "../kv/keys.ts";
import type { Settings } from "../settings/schema.ts";
import { searchError } from "./errors.ts";
import { libraryEngine, type LibrarySearchFn } from "./library.ts";
import { noneEngine } from "./none.ts";
import { searxngEngine } from "./searxng.ts";
import { wikipediaEngine } from "./wikipedia.ts";
import { arxivEngine } from "./arxiv.ts";
import { ENGINE_IDS, type EngineId, type EngineStatus, type SearchEngine } from "./types.ts";
import type { WebEngineConfig } from "./web_engine.ts";

/** What engines need from the app. */
export interface SearchDeps {
  settings: Pick<
    Settings,
    "search.searxng.url" | "search.wikipedia.url" | "search.arxiv.url" | "search.fetch_timeout"
  >;
  fetch?: typeof fetch;
  /** The Library's search; null when the Library is not available. */
  searchLibrary?: LibrarySearchFn | null;
}

/** The web engines: each one's module and the setting holding its base URL. */
const WEB_ENGINES = {
  searxng: { build: searxngEngine, url: "search.searxng.url" },
  wikipedia: { build: wikipediaEngine, url: "search.wikipedia.url" },
  arxiv: { build: arxivEngine, url: "search.arxiv.url" },
} as const satisfies Partial<
  Record<EngineId, { build: (cfg: WebEngineConfig) => SearchEngine; url: keyof Settings }>
>;

/** One engine by id; `collections` restricts the Library engine. */
export function buildEngine(id: EngineId, deps: SearchDeps, collections?: string[]): SearchEngine {
  if (id === "library") return libraryEngine(deps.searchLibrary ?? null, collections);
  if (id === "none") return noneEngine;
  const web = WEB_ENGINES[id];
  return web.build({
    url: deps.settings[web.url],
    timeoutMs: deps.settings["search.fetch_timeout"] * 1000,
    fetch: deps.fetch,
  });
}

/** Every engine's status, probed in parallel (the Status page). */
export function engineStatuses(deps: SearchDeps, signal?: AbortSignal): Promise<EngineStatus[]> {
  return Promise.all(
    ENGINE_IDS.filter((id) => id !== "none").map((id) => buildEngine(id, deps).status(signal)),
  );
}

/** The engines' dependencies from the app context (current settings, the app's fetch). */
export async function searchDepsFor(ctx: AppContext): Promise<SearchDeps> {
  return {
    settings: (await ctx.settings.get()).values,
    fetch: ctx.fetch,
    // Without a collection there is nothing to search: the engine reports "not configured".
    searchLibrary: await hasCollections(ctx.kv) ? librarySearchFnFor(ctx) : null,
  };
}

/**
 * The Library's search for research runs: answers "not configured" (a typed search error) while
 * the Library has no collection, so a run that asked for it says why it found nothing there.
 */
export function runLibrarySearch(ctx: AppContext): LibrarySearchFn {
  const search = librarySearchFnFor(ctx);
  return async (query, opts) => {
    // One list per query answers both "any collection?" and which ids the names mean.
    const all = await collectionChoices(ctx.kv);
    if (!all.length) {
      throw searchError(
        "not_configured",
        "library",
        "The Library has no collections yet",
        "Open the Library page, create a collection and add documents.",
      );
    }
    const collections = opts.collections?.length
      ? resolveCollections(all, opts.collections)
      : undefined;
    return await search(query, { ...opts, collections });
  };
}

/** Every collection's id and name (one KV list; the Research form offers them). */
export async function collectionChoices(kv: Deno.Kv): Promise<{ id: string; name: string }[]> {
  const all = await Array.fromAsync(kvList(kv, COLLECTIONS_PREFIX));
  return all.map((e) => ({ id: e.value.id, name: e.value.name }));
}

/** The collections `wanted` names (by id, or by name ignoring case); all when it names none. */
export function pickCollections(
  list: readonly { id: string; name: string }[],
  wanted: readonly string[],
): string[] {
  const w = wanted.map((x) => x.toLowerCase());
  const picked = list.filter((c) =>
    w.includes(c.id.toLowerCase()) || w.includes(c.name.toLowerCase())
  );
  return (picked.length ? picked : list).map((c) => c.id);
}

/**
 * The ids of the collections `wanted` names (by id, or by name ignoring case: the setting holds
 * what people type). Naming none that exists is a typed error, not a silently empty search.
 */
export async function collectionIds(kv: Deno.Kv, wanted: readonly string[]): Promise<string[]> {
  return resolveCollections(await collectionChoices(kv), wanted);
}

/** `collectionIds` over an already listed set of collections. */
function resolveCollections(
  all: readonly { id: string; name: string }[],
  wanted: readonly string[],
): string[] {
  const ids = new Set<string>();
  for (const w of wanted) {
    const c = all.find((e) => e.id === w) ??
      all.find((e) => e.name.toLowerCase() === w.toLowerCase());
    if (c) ids.add(c.id);
  }
  if (!ids.size) {
    throw searchError(
      "not_configured",
      "library",
      `No Library collection named ${wanted.map((w) => `"${w}"`).join(", ")}`,
      "Pick collections on the Research form, or fix search.library.collections in Settings " +
        "(names or ids from the Library page).",
    );
  }
  return [...ids];
}
