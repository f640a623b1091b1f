/**
 * Renders a page to a complete HTML document. JavaScript is linked only when the page used an
 * island (pages without interaction ship none), and then only the page bundle with its islands.
 */
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { APP_CSS, CLIENT_JS, FAVICON, PAGE_JS } from "../assets.ts";
import { pageBundleFor } from "./bundles.ts";
import { renderWithIslands, serializeProps } from "./island.ts";

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}

/** A full HTML document for `body`, with the island boot data when islands were used. */
export function renderDocument(title: string, body: VNode): string {
  const { result: html, props, names } = renderWithIslands(() => renderToString(body));
  const bundle = pageBundleFor(names);
  const js = bundle ? PAGE_JS[bundle] ?? CLIENT_JS : CLIENT_JS;
  const boot = props.length
    ? `<script type="application/json" id="ds-islands">${serializeProps(props)}</script>` +
      `<script type="module" src="${js.path}"></script>`
    : "";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)} · deepstudio</title>` +
    `<link rel="icon" href="${FAVICON.path}" type="image/svg+xml">` +
    `<link rel="stylesheet" href="${APP_CSS.path}"></head><body>${html}${boot}</body></html>`;
}
