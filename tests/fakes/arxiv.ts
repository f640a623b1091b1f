/**
 * A fake arXiv query API on 127.0.0.1: `GET /api/query` answers an Atom feed in the shape of
 * arXiv's API manual (docs/arxiv.md). Not a recording (none was made): ids, dates and the feed's
 * own members are guesses in the details. Abstract pages are served at `/abs/{id}`. Mode `error`
 * answers the manual's error feed; `limited` a 503 (body a guess). Every request is recorded.
 */

import { type RecordedServer, serveRecorded } from "./recorded_server.ts";

/** One paper of the fake. */
export interface FakePaper {
  id: string;
  title: string;
  authors: string[];
  summary: string;
}

/** A running fake. */
export interface FakeArxiv extends RecordedServer {
  mode: "ok" | "error" | "limited";
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Starts the fake over `papers`. */
export function startFakeArxiv(papers: FakePaper[]): FakeArxiv {
  const fake: FakeArxiv = Object.assign(
    serveRecorded((_req, url) => {
      const paper = papers.find((p) => url.pathname === `/abs/${p.id}`);
      if (paper) {
        return new Response(
          `<!DOCTYPE html><html><head><title>[${paper.id}] ${esc(paper.title)}</title></head>` +
            `<body><main><h1>${esc(paper.title)}</h1><blockquote>Abstract: ${
              esc(paper.summary)
            }</blockquote></main></body></html>`,
          { headers: { "content-type": "text/html; charset=utf-8" } },
        );
      }
      if (url.pathname !== "/api/query") return new Response("Not Found", { status: 404 });
      if (fake.mode === "limited") return new Response("Rate exceeded.", { status: 503 });
      const head =
        `<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n` +
        `  <title type="html">ArXiv Query: ${esc(url.search)}</title>\n` +
        `  <id>http://arxiv.org/api/fakeQueryId</id>\n  <updated>2025-01-15T00:00:00-05:00</updated>\n`;
      const entry = (p: FakePaper) =>
        `  <entry>\n    <id>http://arxiv.org/abs/${p.id}v1</id>\n` +
        `    <published>2024-05-01T12:00:00Z</published>\n` +
        `    <title>${esc(p.title)}</title>\n    <summary>  ${esc(p.summary)}\n</summary>\n` +
        p.authors.map((a) => `    <author>\n      <name>${esc(a)}</name>\n    </author>\n`).join(
          "",
        ) +
        `    <link href="${fake.url}/abs/${p.id}" rel="alternate" type="text/html"/>\n` +
        `    <link title="pdf" href="${fake.url}/pdf/${p.id}" rel="related" type="application/pdf"/>\n` +
        `    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>\n  </entry>\n`;
      const body = fake.mode === "error"
        ? `  <entry>\n    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id>\n` +
          `    <title>Error</title>\n    <summary>incorrect id format for 1234</summary>\n` +
          `    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_1234" rel="alternate" type="text/html"/>\n` +
          `  </entry>\n`
        : papers.slice(0, Number(url.searchParams.get("max_results") ?? 10)).map(entry).join("");
      return new Response(`${head}${body}</feed>\n`, {
        headers: { "content-type": "application/atom+xml; charset=utf-8" },
      });
    }),
    { mode: "ok" as FakeArxiv["mode"] },
  );
  return fake;
}
