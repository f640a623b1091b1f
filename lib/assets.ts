/**
 * Static assets, imported as text so they travel inside the module graph: `deno compile` and
 * `deno bundle` embed them, and the server never reads the working directory. Each is served at
 * a content-hashed path with an immutable cache policy. The hash is computed the first time a
 * path is asked for (a page render, a /static request), not at start-up: a process that only
 * serves the API and /v1 never spends the time or the memory (docs/benchmarks.md).
 */
import { sha256, toHex } from "./http/sha256.ts";
import clientJs from "../static/build/client.js" with { type: "text" };
import markdownJs from "../static/build/markdown.js" with { type: "text" };
import pageResearchJs from "../static/build/page-research.js" with { type: "text" };
import pageRunJs from "../static/build/page-run.js" with { type: "text" };
import pageHistoryJs from "../static/build/page-history.js" with { type: "text" };
import pageSettingsJs from "../static/build/page-settings.js" with { type: "text" };
import pageLibraryJs from "../static/build/page-library.js" with { type: "text" };
import appCss from "../static/app.css" with { type: "text" };
import faviconSvg from "../static/favicon.svg" with { type: "text" };

/** One servable asset. */
export interface Asset {
  path: string;
  body: string;
  type: string;
}

/** An asset whose content-hashed path is computed on first access. */
function hashed(name: string, ext: string, body: string, type: string): Asset {
  let path: string | undefined;
  return {
    get path() {
      return path ??= `/static/${name}.${toHex(sha256(body)).slice(0, 12)}.${ext}`;
    },
    body,
    type,
  };
}

/** The client bundle (all islands). */
export const CLIENT_JS: Asset = hashed(
  "client",
  "js",
  clientJs,
  "text/javascript; charset=utf-8",
);
/** The Markdown renderer (marked + DOMPurify), imported lazily by the run view only. */
export const MARKDOWN_JS: Asset = hashed(
  "markdown",
  "js",
  markdownJs,
  "text/javascript; charset=utf-8",
);
const JS = "text/javascript; charset=utf-8";

/** Page bundles by name (lib/islands/bundles.ts): each page ships only its own islands. */
export const PAGE_JS: Readonly<Record<string, Asset>> = {
  research: hashed("page-research", "js", pageResearchJs, JS),
  run: hashed("page-run", "js", pageRunJs, JS),
  history: hashed("page-history", "js", pageHistoryJs, JS),
  settings: hashed("page-settings", "js", pageSettingsJs, JS),
  library: hashed("page-library", "js", pageLibraryJs, JS),
};
/** The stylesheet. */
export const APP_CSS: Asset = hashed("app", "css", appCss, "text/css; charset=utf-8");
/** The icon. */
export const FAVICON: Asset = hashed("favicon", "svg", faviconSvg, "image/svg+xml");

/** A map built on first use (reading it computes every asset's path). */
class LazyMap<K, V> implements ReadonlyMap<K, V> {
  #map: Map<K, V> | undefined;
  constructor(private readonly build: () => Map<K, V>) {}
  get #m(): Map<K, V> {
    return this.#map ??= this.build();
  }
  get size() {
    return this.#m.size;
  }
  get(key: K) {
    return this.#m.get(key);
  }
  has(key: K) {
    return this.#m.has(key);
  }
  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown) {
    this.#m.forEach((v, k) => fn.call(thisArg, v, k, this));
  }
  entries() {
    return this.#m.entries();
  }
  keys() {
    return this.#m.keys();
  }
  values() {
    return this.#m.values();
  }
  [Symbol.iterator]() {
    return this.#m[Symbol.iterator]();
  }
}

/** Every asset by its served path. */
export const ASSETS: ReadonlyMap<string, Asset> = new LazyMap(() =>
  new Map(
    [CLIENT_JS, MARKDOWN_JS, ...Object.values(PAGE_JS), APP_CSS, FAVICON].map((a) => [a.path, a]),
  )
);
