/**
 * A fake SearXNG on 127.0.0.1 speaking the documented JSON API (docs/searxng.md): `GET /search`
 * with `q` and `format=json` answers the documented result shape; modes reproduce the documented
 * failures: JSON output disabled (403), the bot limiter (429), unresponsive upstream engines,
 * plus a malformed body and a server that never answers. Every request is recorded.
 */

import { type RecordedServer, serveRecorded } from "./recorded_server.ts";

/** One result as SearXNG lists it. */
export interface FakeResult {
  url: string;
  title: string;
  content: string;
  engine?: string;
  engines?: string[];
  score?: number;
}

/** How the fake behaves. */
export type SearxngMode = "ok" | "json_disabled" | "limited" | "malformed" | "hang" | "html";

/** A running fake. */
export interface FakeSearxng extends RecordedServer {
  mode: SearxngMode;
  /** Results per query (a function of q), or the same list for every query. */
  results: FakeResult[] | ((q: string) => FakeResult[]);
  unresponsive: [string, string][];
}

/** Starts the fake. */
export function startFakeSearxng(
  init: Partial<Omit<FakeSearxng, "url" | "requests" | "close">> = {},
): FakeSearxng {
  const hanging = new Set<() => void>();
  const server = serveRecorded((req, url) => {
    if (url.pathname !== "/search") return new Response("Not Found", { status: 404 });
    const q = url.searchParams.get("q") ?? "";
    const format = url.searchParams.get("format");
    switch (fake.mode) {
      case "json_disabled":
        // Documented: 403 Forbidden. The body is a guess (Flask's default 403 page).
        if (format === "json") {
          return new Response(
            "<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n<p>You don&#39;t have the permission to access the requested resource. It is either read-protected or not readable by the server.</p>\n",
            { status: 403, headers: { "content-type": "text/html; charset=utf-8" } },
          );
        }
        break;
      case "limited":
        // Documented: 429 from the limiter. The body is a guess.
        return new Response("Too Many Requests", {
          status: 429,
          headers: { "content-type": "text/plain" },
        });
      case "malformed":
        return new Response('{"query": "x", "results": [', {
          headers: { "content-type": "application/json" },
        });
      case "html":
        return new Response("<html><body>Login</body></html>", {
          headers: { "content-type": "text/html" },
        });
      case "hang":
        return new Promise<Response>((resolve) => {
          const release = () => resolve(new Response("{}", { status: 504 }));
          hanging.add(release);
          req.signal.addEventListener("abort", release);
        });
    }
    const list = typeof fake.results === "function" ? fake.results(q) : fake.results;
    const results = list.map((r, i) => {
      const host = new URL(r.url);
      return {
        url: r.url,
        title: r.title,
        content: r.content,
        engine: r.engine ?? "duckduckgo",
        parsed_url: [
          host.protocol.slice(0, -1),
          host.host,
          host.pathname,
          "",
          host.search.slice(1),
          "",
        ],
        template: "default.html",
        engines: r.engines ?? [r.engine ?? "duckduckgo"],
        positions: [i + 1],
        score: r.score ?? 1 / (i + 1),
        category: "general",
        publishedDate: null,
        thumbnail: "",
      };
    });
    return Response.json({
      query: q,
      number_of_results: 0,
      results,
      answers: [],
      corrections: [],
      infoboxes: [],
      suggestions: [],
      unresponsive_engines: fake.unresponsive,
    });
  }, () => {
    for (const release of hanging) release();
  });
  const fake: FakeSearxng = Object.assign(server, {
    mode: init.mode ?? "ok",
    results: init.results ?? [],
    unresponsive: init.unresponsive ?? [],
  });
  return fake;
}
