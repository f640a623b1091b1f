/**
 * Readable text from an HTML page: the article (Mozilla Readability, the engine of Firefox's
 * Reader View, over a linkedom DOM; choice measured in docs/decisions/html_extraction.md), as
 * plain text with one block (paragraph, heading, list item) per paragraph, so passages can be
 * cut on block boundaries. Pages Readability finds no article in fall back to the body without
 * scripts, styles, navigation and page chrome.
 */
import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";

/** The text of a page and what is known about it. */
export interface ExtractedHtml {
  title: string;
  /** Blocks separated by blank lines; headings prefixed with `#` marks. */
  text: string;
  byline: string | null;
  siteName: string | null;
  lang: string | null;
  excerpt: string | null;
  /** "readability" when an article was found, "body" for the fallback. */
  method: "readability" | "body";
}

const BLOCKS = new Set([
  "p",
  "div",
  "section",
  "article",
  "main",
  "header",
  "footer",
  "aside",
  "li",
  "ul",
  "ol",
  "dl",
  "dt",
  "dd",
  "pre",
  "blockquote",
  "table",
  "tr",
  "figure",
  "figcaption",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "hr",
  "br",
  "details",
  "summary",
]);

const DROP = "script, style, noscript, template, svg, canvas, iframe, object, embed, form, nav, " +
  "header, footer, aside, [hidden], [aria-hidden=true]";

/** Below this many characters a Readability result is not trusted over the body. */
const MIN_ARTICLE_CHARS = 200;

interface Node_ {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<Node_>;
}

/** Decodes page bytes: the header's charset, else a `<meta>` charset, else UTF-8. */
export function decodeHtml(bytes: Uint8Array, charset: string | null): string {
  let label = charset;
  if (!label) {
    const head = new TextDecoder("latin1").decode(bytes.subarray(0, 2048));
    label = head.match(/<meta[^>]+charset\s*=\s*["']?([\w-]+)/i)?.[1] ?? null;
  }
  try {
    return new TextDecoder(label ?? "utf-8").decode(bytes);
  } catch {
    return new TextDecoder("utf-8").decode(bytes);
  }
}

/** Block-aware text of a DOM subtree. */
function blockText(root: Node_): string {
  const out: string[] = [];
  let line = "";
  const flush = () => {
    const t = line.replace(/[ \t\r\n\f\u00a0]+/g, " ").trim();
    if (t) out.push(t);
    line = "";
  };
  const walk = (node: Node_) => {
    if (node.nodeType === 3) {
      line += node.textContent ?? "";
      return;
    }
    if (node.nodeType !== 1) return;
    const name = node.nodeName.toLowerCase();
    if (name === "script" || name === "style" || name === "noscript") return;
    const block = BLOCKS.has(name);
    if (block) flush();
    if (/^h[1-6]$/.test(name)) line += `${"#".repeat(Number(name[1]))} `;
    else if (name === "li") line += "- ";
    if (name === "pre") {
      out.push((node.textContent ?? "").replace(/\s+$/, ""));
      return;
    }
    for (const child of Array.from(node.childNodes)) walk(child);
    if (block) flush();
  };
  walk(root);
  return out.join("\n\n");
}

/** linkedom takes a fragment's first element as the document element: wrap fragments. */
function parseDocument(html: string) {
  if (/<html[\s>]/i.test(html.slice(0, 4096))) return parseHTML(html).document;
  return parseHTML(`<!doctype html><html><head></head><body>${html}</body></html>`).document;
}

/** Extracts the readable text of `html`; never throws on malformed markup. */
export function extractHtml(html: string): ExtractedHtml {
  // One parse for Readability (which mutates it); title and language are read before it runs,
  // and the article comes back as a DOM element (no second parse of its HTML).
  const document = parseDocument(html);
  const lang = document.documentElement?.getAttribute("lang") || null;
  const pageTitle = (document.querySelector("title")?.textContent ?? "").trim();
  let article: ReturnType<Readability<Node>["parse"]> = null;
  try {
    article = new Readability<Node>(document as unknown as Document, {
      serializer: (el) => el,
    }).parse();
  } catch {
    article = null;
  }
  if (article?.content) {
    const text = blockText(article.content as Node_);
    if (text.length >= MIN_ARTICLE_CHARS) {
      return {
        title: (article.title || pageTitle).trim(),
        text,
        byline: article.byline?.trim() || null,
        siteName: article.siteName?.trim() || null,
        lang: article.lang || lang,
        excerpt: article.excerpt?.trim() || null,
        method: "readability",
      };
    }
  }
  // No article: the body of a fresh parse (Readability changed the first one).
  const body = parseDocument(html).body;
  if (body) { for (const el of Array.from(body.querySelectorAll(DROP))) el.remove(); }
  return {
    title: pageTitle,
    text: body ? blockText(body as unknown as Node_) : "",
    byline: null,
    siteName: null,
    lang,
    excerpt: null,
    method: "body",
  };
}
