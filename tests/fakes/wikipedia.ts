/**
 * A fake MediaWiki action API on 127.0.0.1 for the Wikipedia engine: `GET /w/api.php` with
 * `action=query&list=search` answers the documented `formatversion=2` shape (docs/wikipedia.md);
 * the bodies follow MediaWiki's documentation, not a recording (none was made), so they are
 * guesses in the details (the `continue` member, numbers). Articles are served at `/wiki/Title`.
 * Modes: `error` (the documented HTTP 200 error object), `limited` (429; body a guess), `down`
 * handled by closing. Every request is recorded.
 */

import { type RecordedServer, serveRecorded } from "./recorded_server.ts";

/** One article of the fake wiki. */
export interface FakeArticle {
  title: string;
  /** The search snippet, HTML as the API sends it (highlight spans). */
  snippet: string;
  /** The article's body text (served as HTML at /wiki/Title). */
  body: string;
}

/** A running fake. */
export interface FakeWikipedia extends RecordedServer {
  mode: "ok" | "error" | "limited";
  articles: FakeArticle[];
}

/** Starts the fake. */
export function startFakeWikipedia(articles: FakeArticle[]): FakeWikipedia {
  const fake: FakeWikipedia = Object.assign(
    serveRecorded((_req, url) => {
      if (url.pathname.startsWith("/wiki/")) {
        const title = decodeURIComponent(url.pathname.slice(6)).replaceAll("_", " ");
        const a = fake.articles.find((x) => x.title === title);
        if (!a) return new Response("Not Found", { status: 404 });
        return new Response(
          `<!DOCTYPE html><html><head><title>${a.title} - Wikipedia</title></head><body>` +
            `<main><h1>${a.title}</h1><p>${a.body}</p></main></body></html>`,
          { headers: { "content-type": "text/html; charset=UTF-8" } },
        );
      }
      if (url.pathname !== "/w/api.php") return new Response("Not Found", { status: 404 });
      if (fake.mode === "limited") return new Response("Too many requests", { status: 429 });
      const q = url.searchParams.get("srsearch") ?? "";
      if (fake.mode === "error" || !q) {
        // Documented: HTTP 200 with an error object (formatversion=2 field names).
        return Response.json({
          error: {
            code: "nosrsearch",
            info: 'The "srsearch" parameter must be set.',
            docref: "See https://en.wikipedia.org/w/api.php for API usage.",
          },
          servedby: "mw-api-ext.eqiad.main-0",
        });
      }
      const limit = Number(url.searchParams.get("srlimit") ?? 10);
      const hits = fake.articles.slice(0, limit);
      return Response.json({
        batchcomplete: true,
        continue: { sroffset: hits.length, continue: "-||" },
        query: {
          searchinfo: { totalhits: fake.articles.length },
          search: hits.map((a, i) => ({
            ns: 0,
            title: a.title,
            pageid: 1000 + i,
            size: a.body.length,
            wordcount: a.body.split(/\s+/).length,
            snippet: a.snippet,
            timestamp: "2025-01-15T10:00:00Z",
          })),
        },
      });
    }),
    { mode: "ok" as FakeWikipedia["mode"], articles },
  );
  return fake;
}
