/**
 * The arXiv engine: arXiv's query API (`search.arxiv.url`, default http://export.arxiv.org),
 * `GET {base}/api/query?search_query=all:…&start=0&max_results=…`, answering an Atom feed. Each
 * entry is a paper: its abstract page is the hit's URL (read like any web page) and the abstract
 * its snippet. Like Wikipedia it sends the run's queries to a public service, so it is used only
 * when a run picks it and never probed by the Status page. Facts in docs/arxiv.md.
 */
import { VERSION } from "../version.ts";
import { engineMalformed } from "./engine_http.ts";
import { searchError } from "./errors.ts";
import type { SearchEngine, SearchHit, SearchResponse } from "./types.ts";
import { webEngine, type WebEngineConfig } from "./web_engine.ts";

/** A feed of 50 entries with abstracts is ~100 KiB. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** Who arXiv is in messages, and what to do when it fails. */
const ARXIV = {
  engine: "arxiv",
  name: "arXiv",
  hints: {
    timeout: "arXiv's API can be slow; retry, or raise search.fetch_timeout.",
    connection: "This engine needs the internet. Offline, use the Library or a local SearXNG " +
      "instead.",
    malformed: "Is search.arxiv.url arXiv's API host (http://export.arxiv.org)?",
  },
} as const;

/** Builds the engine (a public service: never probed). */
export function arxivEngine(cfg: WebEngineConfig): SearchEngine {
  return webEngine(cfg, {
    ...ARXIV,
    maxBytes: MAX_ANSWER_BYTES,
    headers: { accept: "application/atom+xml", "user-agent": `deepstudio/${VERSION}` },
    status: "public",
    maxLimit: 50,
    url: (query, limit) =>
      `${cfg.url}/api/query?search_query=${encodeURIComponent(`all:${query}`)}` +
      `&start=0&max_results=${limit}`,
    parse: parseArxivFeed,
    statusError: (status, url) =>
      searchError(
        status === 429 || status === 503 ? "rate_limit" : "http_status",
        "arxiv",
        `arXiv at ${cfg.url} answered HTTP ${status}`,
        status === 429 || status === 503
          ? "arXiv asks clients to wait between requests: retry in a minute, with fewer queries."
          : "Is search.arxiv.url arXiv's API host (http://export.arxiv.org)?",
        { url, status },
      ),
  });
}

const squash = (s: string | null | undefined) => (s ?? "").replace(/\s+/g, " ").trim();

/** Parses the Atom feed (linkedom loaded on first use); an error entry is a typed failure. */
export async function parseArxivFeed(
  xml: string,
  url: string,
  limit: number,
): Promise<SearchResponse> {
  const { DOMParser } = await import("linkedom");
  const doc = new DOMParser().parseFromString(xml, "text/xml") as unknown as Document;
  if (!doc.getElementsByTagName("feed").length) {
    throw engineMalformed(ARXIV, url, "the answer is not an Atom feed");
  }
  const hits: SearchHit[] = [];
  for (const entry of Array.from(doc.getElementsByTagName("entry"))) {
    const text = (tag: string) => squash(entry.getElementsByTagName(tag)[0]?.textContent);
    const title = text("title");
    const id = text("id");
    // The API reports a bad query as a feed with one entry titled "Error".
    if (title === "Error" && /api\/errors/.test(id)) {
      throw searchError(
        "http_status",
        "arxiv",
        `arXiv refused the search: ${text("summary")}`,
        "Simplify the question and retry.",
        { url },
      );
    }
    const links = Array.from(entry.getElementsByTagName("link"));
    const page = links.find((l) => l.getAttribute("rel") === "alternate")?.getAttribute("href") ??
      id;
    if (!/^https?:\/\//.test(page) || hits.length >= limit) continue;
    const authors = Array.from(entry.getElementsByTagName("name")).map((n) =>
      squash(n.textContent)
    );
    const summary = text("summary");
    hits.push({
      title: authors.length
        ? `${title} (${authors.slice(0, 3).join(", ")}${authors.length > 3 ? " et al." : ""})`
        : title,
      url: page,
      location: null,
      snippet: summary.length > 600 ? `${summary.slice(0, 597)}…` : summary,
      engine: "arxiv",
      score: 1 / (hits.length + 1),
      publishedDate: text("published") || null,
    });
  }
  return { hits, notes: [] };
}
