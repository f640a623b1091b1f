/**
 * The app's routes, read from `app.routes` at test time, so route-wide security tests and the
 * fuzz test cover routes other people add later without being edited. Middleware entries
 * (`ALL *`) are left out; each remaining route gets concrete paths with its parameters filled.
 */
import type { Hono } from "hono";
import { ASSETS } from "../../lib/assets.ts";
import { SETTING_KEYS } from "../../lib/settings/schema.ts";

const ASSET_FILES = [...ASSETS.keys()].map((p) => p.slice("/static/".length));

/** One route as registered. */
export interface RouteEntry {
  method: string;
  /** The Hono pattern, e.g. `/api/settings/:key`. */
  pattern: string;
  /** Parameter names in order (`:key` → `key`; a `*` wildcard → `*`). */
  params: string[];
}

/** Every real route (not middleware), deduplicated, in registration order. */
export function routeTable(app: Hono): RouteEntry[] {
  const seen = new Set<string>();
  const out: RouteEntry[] = [];
  for (const r of app.routes) {
    if (r.method === "ALL" && (r.path === "*" || r.path === "/*")) continue;
    const id = `${r.method} ${r.path}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const params = [...r.path.matchAll(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??|\*/g)].map((m) =>
      m[0] === "*" ? "*" : m[1]
    );
    out.push({ method: r.method, pattern: r.path, params });
  }
  return out;
}

/** True when a route is one of the JSON APIs. */
export function isApiPattern(pattern: string): boolean {
  return pattern === "/api" || pattern.startsWith("/api/") || pattern.startsWith("/v1");
}

/** A plausible value for a parameter (so the handler's real logic runs, not just its 404). */
export function plausibleParam(name: string, pick: <T>(xs: readonly T[]) => T, ids: string[]) {
  if (name === "key") return pick(SETTING_KEYS);
  if (name === "file") return pick(ASSET_FILES);
  if (ids.length && (name === "id" || name.endsWith("Id") || name.endsWith("_id"))) {
    return pick(ids);
  }
  return pick([
    "1",
    "0",
    "abc",
    "01J9Z3Y0000000000000000000",
    "3f0c1a52-8d0e-4f4b-9a43-5c1d3d1b0c11",
    "qwen2.5-7b-instruct",
    "llm.model",
  ]);
}

/** Fills a pattern's parameters with `value(name)`; each value is percent-encoded unless `raw`. */
export function fillPattern(
  pattern: string,
  value: (name: string) => string,
  raw = false,
): string {
  return pattern.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??|\*/g, (m, name) => {
    const v = value(m === "*" ? "*" : name);
    return raw ? v : encodeURIComponent(v.toWellFormed());
  });
}

/** A concrete path per route with plausible parameters, for one-shot route-wide checks. */
export function concretePaths(app: Hono): { method: string; path: string; pattern: string }[] {
  const first = <T>(xs: readonly T[]) => xs[0];
  return routeTable(app).map((r) => ({
    method: r.method,
    pattern: r.pattern,
    path: fillPattern(r.pattern, (n) => String(plausibleParam(n, first, []))),
  }));
}
