/**
 * The SearXNG engine: `GET {base}/search?q=…&format=json` against the user's own instance, its
 * documented answer validated, and its two classic failures (JSON output disabled → 403, bot
 * limiter → 429) turned into hints that name the exact setting. Facts in docs/searxng.md.
 */
import { z } from "zod";
import { engineJson } from "./engine_http.ts";
import { searchError } from "./errors.ts";
import type { SearchEngine, SearchHit, SearchResponse } from "./types.ts";
import { webEngine, type WebEngineConfig } from "./web_engine.ts";

/** Answers bigger than this are not read (a results page is tens of KiB). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

const Result = z.object({
  url: z.string(),
  title: z.string().nullish(),
  content: z.string().nullish(),
  engine: z.string().nullish(),
  engines: z.array(z.string()).nullish(),
  score: z.number().nullish(),
  publishedDate: z.string().nullish(),
});

const Answer = z.object({
  query: z.string().nullish(),
  results: z.array(z.unknown()),
  unresponsive_engines: z.array(z.array(z.string())).nullish(),
});

const JSON_HINT = "Add json to search.formats in SearXNG's settings.yml " +
  "(search:\n  formats:\n    - html\n    - json) and restart SearXNG.";

/** Who SearXNG is in messages, and what to do when it fails. */
const SEARXNG = {
  engine: "searxng",
  name: "SearXNG",
  hints: {
    timeout: "Its upstream engines may be slow; retry, or raise search.fetch_timeout.",
    connection: "Start SearXNG (docker run -p 8080:8080 searxng/searxng) or fix " +
      "search.searxng.url; in Docker use the service name, e.g. http://searxng:8080.",
    malformed: "Is search.searxng.url a SearXNG instance? A proxy or login page in front " +
      "of it answers HTML.",
  },
} as const;

/** Builds the engine over one instance (the Status page probes it: it is the user's own). */
export function searxngEngine(cfg: WebEngineConfig): SearchEngine {
  return webEngine(cfg, {
    ...SEARXNG,
    label: "Web (SearXNG)",
    maxBytes: MAX_ANSWER_BYTES,
    status: "probe",
    url: (query) => `${cfg.url}/search?q=${encodeURIComponent(query)}&format=json`,
    parse: (text, url, limit) => parseAnswer(text, limit, url),
    statusError(status, url) {
      if (status === 403) {
        return searchError(
          "json_disabled",
          "searxng",
          `SearXNG at ${cfg.url} refused format=json (HTTP 403): its JSON output is turned off`,
          JSON_HINT,
          { url, status },
        );
      }
      if (status === 429) {
        return searchError(
          "rate_limit",
          "searxng",
          `SearXNG at ${cfg.url} is rate-limiting deepstudio (HTTP 429, its bot limiter)`,
          "Wait a minute and retry, or allow deepstudio's address: for an instance only you " +
            "use, set server.limiter: false in settings.yml.",
          { url, status },
        );
      }
      return searchError(
        "http_status",
        "searxng",
        `SearXNG at ${cfg.url} answered HTTP ${status}`,
        status === 404
          ? "Is search.searxng.url the instance's base URL (without /search)?"
          : "Check SearXNG's logs.",
        { url, status },
      );
    },
  });
}

/** Parses a SearXNG JSON answer; a wrong shape is `malformed`, never a crash. */
export function parseAnswer(text: string, limit: number, url: string): SearchResponse {
  const answer = engineJson(SEARXNG, url, text, Answer, "the JSON has no results list");
  const hits: SearchHit[] = [];
  const seen = new Set<string>();
  answer.results.forEach((r, i) => {
    const parsed = Result.safeParse(r);
    if (!parsed.success || hits.length >= limit) return;
    const h = parsed.data;
    if (!/^https?:\/\//i.test(h.url) || seen.has(h.url)) return;
    seen.add(h.url);
    hits.push({
      title: (h.title ?? "").trim() || h.url,
      url: h.url,
      location: null,
      snippet: (h.content ?? "").trim(),
      engine: "searxng",
      score: h.score ?? 1 / (i + 1),
      via: h.engines ?? (h.engine ? [h.engine] : []),
      publishedDate: h.publishedDate ?? null,
    });
  });
  const notes = (answer.unresponsive_engines ?? []).map(([name, reason]) =>
    `SearXNG: ${name} did not answer (${reason ?? "no reason given"})`
  );
  return { hits, notes };
}
