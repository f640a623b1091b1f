/**
 * The Wikipedia engine: MediaWiki's search API on one wiki (`search.wikipedia.url`, default the
 * English Wikipedia), `GET {base}/w/api.php?action=query&list=search&srsearch=…&format=json
 * &formatversion=2`. Each hit is an article URL (`{base}/wiki/Title`), read like any web page;
 * its snippet is the API's, highlight tags removed. Unlike SearXNG this sends the run's queries
 * to a public service, so it is only used when a run picks it, and the Status page does not
 * probe it. Facts (and which parts of the test fake are guesses) in docs/wikipedia.md.
 */
import { z } from "zod";
import { VERSION } from "../version.ts";
import { engineGet, type EngineHttp, engineMalformed } from "./engine_http.ts";
import { searchError } from "./errors.ts";
import type {
  EngineStatus,
  SearchEngine,
  SearchHit,
  SearchOptions,
  SearchResponse,
} from "./types.ts";

/** Answers bigger than this are not read (a result page of 50 hits is ~20 KiB). */
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

const Hit = z.object({
  title: z.string(),
  snippet: z.string().nullish(),
  timestamp: z.string().nullish(),
});

const Answer = z.object({
  query: z.object({ search: z.array(z.unknown()) }).optional(),
  error: z.object({ code: z.string(), info: z.string().nullish() }).optional(),
});

/** What the engine needs. */
export interface WikipediaConfig {
  /** The wiki's base URL, e.g. https://en.wikipedia.org (no trailing slash). */
  url: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** Wikimedia asks API clients to identify themselves (its User-Agent policy). */
export const WIKIPEDIA_USER_AGENT = `deepstudio/${VERSION} (local research console)`;

const LABEL = "Wikipedia";

/** Who Wikipedia is in messages, and what to do when it fails. */
const WIKIPEDIA = {
  engine: "wikipedia",
  name: "Wikipedia",
  hints: {
    timeout: "Retry, or raise search.fetch_timeout.",
    connection: "This engine needs the internet. Offline, use the Library or a local SearXNG " +
      "instead.",
    malformed: "Is search.wikipedia.url a MediaWiki site (its API at /w/api.php)?",
  },
} as const;

/** Builds the engine over one wiki. */
export function wikipediaEngine(cfg: WikipediaConfig): SearchEngine {
  const http: EngineHttp = {
    ...WIKIPEDIA,
    base: cfg.url,
    timeoutMs: cfg.timeoutMs,
    fetch: cfg.fetch,
    maxBytes: MAX_ANSWER_BYTES,
    headers: { "user-agent": WIKIPEDIA_USER_AGENT },
    statusError: (status, url) =>
      status === 429
        ? searchError(
          "rate_limit",
          "wikipedia",
          `Wikipedia at ${cfg.url} is rate-limiting deepstudio (HTTP 429)`,
          "Wait a minute and retry with fewer queries (a quick run asks fewer than a detailed " +
            "one).",
          { url, status },
        )
        : searchError(
          "http_status",
          "wikipedia",
          `Wikipedia at ${cfg.url} answered HTTP ${status}`,
          "Is search.wikipedia.url a wiki's base URL, like https://en.wikipedia.org?",
          { url, status },
        ),
  };

  async function search(query: string, opts: SearchOptions): Promise<SearchResponse> {
    const limit = Math.min(Math.max(opts.limit, 1), 50);
    const url = `${cfg.url}/w/api.php?action=query&list=search&format=json&formatversion=2` +
      `&srlimit=${limit}&srsearch=${encodeURIComponent(query)}`;
    return parseWikipediaAnswer(await engineGet(http, url, opts.signal), cfg.url, limit);
  }

  function status(): Promise<EngineStatus> {
    return Promise.resolve({
      id: "wikipedia",
      label: LABEL,
      state: "not_checked",
      url: cfg.url,
      detail: "Not probed: deepstudio asks Wikipedia only when a run picks it, and that sends " +
        "the run's search queries there.",
    });
  }

  return { id: "wikipedia", label: LABEL, search, status };
}

/** An article's URL on `base`: spaces become underscores, the rest percent-encoded. */
export function articleUrl(base: string, title: string): string {
  return `${base}/wiki/${encodeURIComponent(title.replaceAll(" ", "_")).replaceAll("%2F", "/")}`;
}

/** The API's snippet as text: highlight spans and other tags removed, entities decoded. */
export function snippetText(html: string): string {
  return html.replace(/<[^>]*>/g, "").replace(
    /&(quot|amp|lt|gt|#0?39);/g,
    (_, e: string) => ({ quot: '"', amp: "&", lt: "<", gt: ">", "#039": "'", "#39": "'" })[e] ?? "",
  ).replace(
    /\s+/g,
    " ",
  ).trim();
}

/** Parses the API's answer; an API error or a wrong shape is a typed failure. */
export function parseWikipediaAnswer(text: string, base: string, limit: number): SearchResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw malformedAnswer(base, "the answer is not JSON");
  }
  const answer = Answer.safeParse(raw);
  if (!answer.success) throw malformedAnswer(base, "unexpected JSON");
  if (answer.data.error) {
    throw searchError(
      "http_status",
      "wikipedia",
      `Wikipedia refused the search: ${answer.data.error.info ?? answer.data.error.code}`,
      "Shorten or simplify the question and retry.",
      { url: base },
    );
  }
  if (!answer.data.query) throw malformedAnswer(base, "the JSON has no query.search list");
  const hits: SearchHit[] = [];
  answer.data.query.search.forEach((r, i) => {
    const h = Hit.safeParse(r);
    if (!h.success || hits.length >= limit) return;
    hits.push({
      title: h.data.title,
      url: articleUrl(base, h.data.title),
      location: null,
      snippet: snippetText(h.data.snippet ?? ""),
      engine: "wikipedia",
      score: 1 / (i + 1),
      publishedDate: h.data.timestamp ?? null,
    });
  });
  return { hits, notes: [] };
}

function malformedAnswer(base: string, why: string) {
  return engineMalformed(WIKIPEDIA, base, why);
}
