/**
 * Route files whose code loads on first request. The routes are declared here, so the router,
 * the 405 answer and `/api/openapi.json` see them from start-up; the module behind them (and what
 * it imports: the page components, the islands' server side, the SSR renderer) is imported by the
 * first request that needs it. Start-up and idle memory then carry only what the API needs
 * (docs/benchmarks.md, "Memory and start-up"); tests/distribution/lazy_routes_test.ts keeps each
 * declared list equal to the routes its module serves.
 */
import { Hono } from "./hono.ts";

/** A route as declared up front: method and path relative to where the sub-app is mounted. */
export type LazyRoute = readonly ["GET" | "POST" | "PATCH" | "DELETE", string];

/** The page routes of routes/pages.tsx, mounted at `/`. */
export const PAGE_ROUTES: readonly LazyRoute[] = [
  ["GET", "/"],
  ["GET", "/research/:id"],
  ["GET", "/history"],
  ["GET", "/status"],
  ["GET", "/settings"],
];

/** The sign-in routes of routes/auth.tsx, mounted at `/`. */
export const AUTH_ROUTES: readonly LazyRoute[] = [
  ["GET", "/login"],
  ["POST", "/login"],
  ["POST", "/logout"],
];

/** The Library's page routes of routes/library_pages.tsx, mounted at `/library`. */
export const LIBRARY_PAGE_ROUTES: readonly LazyRoute[] = [["GET", "/"], ["GET", "/:id"]];

/**
 * The research API of routes/research.ts, mounted at `/api/research`. The research code (service,
 * pipeline, sources, search engines) loads on the first research request, or at start-up when a
 * run is unfinished (routes/resume_at_start.ts).
 */
export const RESEARCH_ROUTES: readonly LazyRoute[] = [
  ["POST", "/"],
  ["GET", "/"],
  ["GET", "/:id"],
  ["DELETE", "/:id"],
  ["POST", "/:id/resume"],
  ["POST", "/:id/cancel"],
  ["GET", "/:id/events"],
  ["GET", "/:id/export.md"],
];

/** A run's sources, routes/sources.ts, mounted at `/api/research`. */
export const SOURCES_ROUTES: readonly LazyRoute[] = [
  ["GET", "/:id/sources"],
  ["GET", "/:id/export.json"],
];

/** The research pre-flight of routes/preflight.ts, mounted at `/api/research/preflight`. */
export const PREFLIGHT_ROUTES: readonly LazyRoute[] = [["POST", "/"]];

/**
 * The Library API of routes/library.ts, mounted at `/api` (its service loads later still, on the
 * first request that needs it, or at start-up to resume indexing: routes/resume_at_start.ts).
 */
export const LIBRARY_ROUTES: readonly LazyRoute[] = [
  ["GET", "/collections"],
  ["POST", "/collections"],
  ["GET", "/collections/:id"],
  ["PATCH", "/collections/:id"],
  ["DELETE", "/collections/:id"],
  ["POST", "/collections/:id/reindex"],
  ["GET", "/collections/:id/documents"],
  ["POST", "/collections/:id/documents"],
  ["DELETE", "/collections/:id/documents/:docId"],
  ["GET", "/collections/:id/events"],
  ["GET", "/search"],
];

/** The provider routes of routes/providers.ts, mounted at `/api/providers`. */
export const PROVIDER_ROUTES: readonly LazyRoute[] = [
  ["GET", "/"],
  ["GET", "/:id/status"],
  ["POST", "/:id/test"],
  ["GET", "/:id/models"],
];

/** LM Studio's model load/unload of routes/models.ts, mounted at `/api/providers/lmstudio/models`. */
export const MODEL_ROUTES: readonly LazyRoute[] = [["POST", "/load"], ["POST", "/unload"]];

/** The search engines' status of routes/search.ts, mounted at `/api/search`. */
export const SEARCH_ROUTES: readonly LazyRoute[] = [["GET", "/status"]];

/**
 * A sub-app (to mount at `base`) answering `routes` with the sub-app `load` builds on first use.
 * Errors thrown inside it reach the parent's `onError` unchanged, as with `app.route`, and its
 * handlers see the same request and server bindings.
 */
export function lazyRoutes(
  base: string,
  routes: readonly LazyRoute[],
  load: () => Promise<Hono>,
): Hono {
  let real: Promise<Hono> | undefined;
  const loaded = () =>
    real ??= load().then((sub) => {
      const app = new Hono().route(base, sub);
      app.onError((err) => {
        throw err;
      });
      return app;
    }, (e) => {
      real = undefined; // a failed import is retried by the next request
      throw e;
    });
  const app = new Hono();
  for (const [method, path] of routes) {
    // `c.env` carries the connection info (the client's address for the sign-in throttle).
    app.on(method, path, async (c) => await (await loaded()).fetch(c.req.raw, c.env));
  }
  return app;
}

/** True for a browser asking for a page: a GET outside the API that accepts HTML. */
export function wantsPage(req: Request): boolean {
  const path = new URL(req.url).pathname;
  if (req.method !== "GET" || /^\/(api|v1|static)(\/|$)/.test(path)) return false;
  return (req.headers.get("accept") ?? "").includes("text/html");
}
