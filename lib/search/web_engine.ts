/**
 * The shape every web search engine (SearXNG, Wikipedia, arXiv) shares, so each engine's module
 * holds only what is its own: how a query becomes a URL, how the answer is read, and how its
 * failures are worded. The GET itself, its deadline and its typed failures are in engine_http.ts.
 */
import { engineGet, type EngineHttp } from "./engine_http.ts";
import { SearchError } from "./errors.ts";
import type { EngineStatus, SearchEngine, SearchOptions, SearchResponse } from "./types.ts";

/** What a web engine needs from the settings and the app. */
export interface WebEngineConfig {
  /** Normalised base URL (no trailing slash). */
  url: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** One engine's own part: its HTTP profile, its request URL and its answer's parser. */
export interface WebEngineSpec extends Omit<EngineHttp, "base" | "timeoutMs" | "fetch"> {
  /** As the Status page and the Research form name it; `name` when absent. */
  label?: string;
  /** The API's own cap on hits per request; the asked limit is clamped into 1..cap. */
  maxLimit?: number;
  /**
   * `probe`: the Status page asks it one query (the user's own instance). `public`: never probed,
   * since probing would send a query to a public service the user did not pick for a run.
   */
  status: "probe" | "public";
  url(query: string, limit: number): string;
  parse(text: string, url: string, limit: number): SearchResponse | Promise<SearchResponse>;
}

/** Builds a web engine over `cfg` from its spec. */
export function webEngine(cfg: WebEngineConfig, spec: WebEngineSpec): SearchEngine {
  const http: EngineHttp = { ...spec, base: cfg.url, timeoutMs: cfg.timeoutMs, fetch: cfg.fetch };
  const id = spec.engine;
  const label = spec.label ?? spec.name;

  async function search(query: string, opts: SearchOptions): Promise<SearchResponse> {
    const limit = spec.maxLimit ? Math.min(Math.max(opts.limit, 1), spec.maxLimit) : opts.limit;
    const url = spec.url(query, limit);
    return await spec.parse(await engineGet(http, url, opts.signal), url, limit);
  }

  async function probe(signal?: AbortSignal): Promise<EngineStatus> {
    const started = performance.now();
    try {
      const r = await search("deepstudio", { limit: 1, signal });
      return {
        id,
        label,
        state: "available",
        url: cfg.url,
        latencyMs: Math.round(performance.now() - started),
        detail: r.notes.length ? r.notes.join("; ") : undefined,
      };
    } catch (err) {
      const f = err instanceof SearchError ? err.failure : null;
      return {
        id,
        label,
        state: "unavailable",
        url: cfg.url,
        detail: f?.message ?? String(err),
        hint: f?.hint,
      };
    }
  }

  function notProbed(): Promise<EngineStatus> {
    return Promise.resolve({
      id,
      label,
      state: "not_checked",
      url: cfg.url,
      detail: `Not probed: deepstudio asks ${spec.name} only when a run picks it, and that sends ` +
        "the run's search queries there.",
    });
  }

  return { id, label, search, status: spec.status === "probe" ? probe : notProbed };
}
