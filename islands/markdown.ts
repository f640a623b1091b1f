/**
 * The Markdown chunk: marked + DOMPurify, bundled on its own (scripts/build.ts) and loaded with a
 * dynamic `import()` only by the run view, so pages that never show model output never pay for it.
 *
 * Model output is untrusted: raw HTML in it is escaped, whatever marked produces is sanitised
 * anyway (defence in depth: links with `javascript:` URLs and the like), and on top of
 * DOMPurify's defaults images and styles are dropped (an image URL in an answer would make the
 * browser call an outside server, which a local-first tool must not do; inline styles would
 * only trip the CSP). Links open in a new tab without a referrer.
 */
import DOMPurify from "dompurify";
import { Marked } from "marked";

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  // Raw HTML in model output is shown as text, never parsed: `<img onerror=…>` stays visible
  // and inert (and the browser never even sees an inline handler to refuse under the CSP).
  renderer: { html: ({ text }) => escapeHtml(text) },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const CONFIG = {
  FORBID_TAGS: ["img", "style", "form", "input", "button", "textarea", "select", "iframe", "svg"],
  FORBID_ATTR: ["style", "srcset"],
};

/** Markdown to sanitised HTML, safe for `innerHTML`. */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown) as string;
  return DOMPurify.sanitize(html, CONFIG) as string;
}
