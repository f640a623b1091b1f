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
import { engineJson, engineMalformed } from "./engine_http.ts";
import { searchError } from "./errors.ts";
import type { SearchEngine, SearchHit, SearchResponse } from "./types.ts";
import { webEngine, type WebEngineConfig } from "./web_engine.ts";

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

/** Wikimedia asks API clients to identify themselves (its User-Agent policy). */
export const WIKIPEDIA_USER_AGENT = `deepstudio/${VERSION} (local research console)`;

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

/** Builds the engine over one wiki (a public service: never probed). */
export function wikipediaEngine(cfg: WebEngineConfig): SearchEngine {
  return webEngine(cfg, {
    ...WIKIPEDIA,
    maxBytes: MAX_ANSWER_BYTES,
    headers: { "user-agent": WIKIPEDIA_USER_AGENT },
    status: "public",
    maxLimit: 50,
    url: (query, limit) =>
      `${cfg.url}/w/api.php?action=query&list=search&format=json&formatversion=2` +
      `&srlimit=${limit}&srsearch=${encodeURIComponent(query)}`,
    parse: (text, _url, limit) => parseWikipediaAnswer(text, cfg.url, limit),
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
  });
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
  const answer = engineJson(WIKIPEDIA, base, text, Answer, "unexpected JSON");
  if (answer.error) {
    throw searchError(
      "http_status",
      "wikipedia",
      `Wikipedia refused the search: ${answer.error.info ?? answer.error.code}`,
      "Shorten or simplify the question and retry.",
      { url: base },
    );
  }
  if (!answer.query) throw engineMalformed(WIKIPEDIA, base, "the JSON has no query.search list");
  const hits: SearchHit[] = [];
  answer.query.search.forEach((r, i) => {
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
