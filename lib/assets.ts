/**
 * Static assets, imported as text so they travel inside the module graph: `deno compile` and
 * `deno bundle` embed them, and the server never reads the working directory. Each is served at
 * a content-hashed path with an immutable cache policy.
 */
import { toHex } from "./http/sha256.ts";
import clientJs from "../static/build/client.js" with { type: "text" };
import markdownJs from "../static/build/markdown.js" with { type: "text" };
import pageResearchJs from "../static/build/page-research.js" with { type: "text" };
import pageRunJs from "../static/build/page-run.js" with { type: "text" };
import pageHistoryJs from "../static/build/page-history.js" with { type: "text" };
import pageSettingsJs from "../static/build/page-settings.js" with { type: "text" };
import appCss from "../static/app.css" with { type: "text" };
import faviconSvg from "../static/favicon.svg" with { type: "text" };

/** One servable asset. */
export interface Asset {
  path: string;
  body: string;
  type: string;
}

/** SHA-256 of a text, hex (native Web Crypto: no JIT warm-up of a hash written in JS). */
async function sha256Hex(text: string): Promise<string> {
  return toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
  );
}

/** Its content-hashed path; the digest is computed once, at start-up (top-level await). */
async function hashed(name: string, ext: string, body: string, type: string): Promise<Asset> {
  return { path: `/static/${name}.${(await sha256Hex(body)).slice(0, 12)}.${ext}`, body, type };
}

/** The client bundle (all islands). */
export const CLIENT_JS: Asset = await hashed(
  "client",
  "js",
  clientJs,
  "text/javascript; charset=utf-8",
);
/** The Markdown renderer (marked + DOMPurify), imported lazily by the run view only. */
export const MARKDOWN_JS: Asset = await hashed(
  "markdown",
  "js",
  markdownJs,
  "text/javascript; charset=utf-8",
);
const JS = "text/javascript; charset=utf-8";

/** Page bundles by name (lib/islands/bundles.ts): each page ships only its own islands. */
export const PAGE_JS: Readonly<Record<string, Asset>> = {
  research: await hashed("page-research", "js", pageResearchJs, JS),
  run: await hashed("page-run", "js", pageRunJs, JS),
  history: await hashed("page-history", "js", pageHistoryJs, JS),
  settings: await hashed("page-settings", "js", pageSettingsJs, JS),
};
/** The stylesheet. */
export const APP_CSS: Asset = await hashed("app", "css", appCss, "text/css; charset=utf-8");
/** The icon. */
export const FAVICON: Asset = await hashed("favicon", "svg", faviconSvg, "image/svg+xml");

/** Every asset by its served path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map(
  [CLIENT_JS, MARKDOWN_JS, ...Object.values(PAGE_JS), APP_CSS, FAVICON].map((a) => [a.path, a]),
);
