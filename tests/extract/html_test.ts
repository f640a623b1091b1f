import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { decodeHtml, extractHtml } from "../../lib/extract/html.ts";

const article = Deno.readTextFileSync(new URL("./pages/article.html", import.meta.url));

Deno.test("extractHtml: the article's text in blocks, without page chrome, scripts or styles", () => {
  const page = extractHtml(article);
  assertEquals(page.method, "readability");
  assertStringIncludes(page.title, "Context windows in local LLM servers");
  assertEquals(page.lang, "en");
  assertStringIncludes(page.text, "## Why the loaded size matters");
  assertStringIncludes(page.text, "- Prompt tokens count against the window.");
  assertStringIncludes(page.text, "lms load qwen2.5-7b --context-length 16384");
  // One paragraph is one block: the hard-wrapped source lines are joined.
  assert(
    page.text.split("\n\n").some((b) =>
      b.startsWith("A local server such as LM Studio") && b.endsWith("before it asks.")
    ),
    page.text,
  );
  for (
    const junk of ["SCRIPT-SHOULD", "STYLE-SHOULD", "NAV-LINK-ONE", "ASIDE-LINK", "FOOTER-TEXT"]
  ) {
    assert(!page.text.includes(junk), `${junk} leaked into ${page.text}`);
  }
});

Deno.test("extractHtml: a page without an article falls back to the cleaned body", () => {
  const page = extractHtml(
    `<html><head><title>Tiny</title></head><body><nav>Menu</nav><p>Short note.</p>` +
      `<script>alert("x")</script><footer>foot</footer></body></html>`,
  );
  assertEquals(page.method, "body");
  assertEquals(page.title, "Tiny");
  assertEquals(page.text, "Short note.");
});

Deno.test("extractHtml: malformed or empty markup does not throw", () => {
  assertEquals(extractHtml("").text, "");
  const broken = extractHtml("<div><p>unclosed <b>bold <i>text</div></span><<>>");
  assertStringIncludes(broken.text, "unclosed bold text");
});

Deno.test("decodeHtml: header charset, then <meta> charset, then UTF-8", () => {
  const latin = new Uint8Array([0x63, 0x61, 0x66, 0xe9]); // "café" in windows-1252
  assertEquals(decodeHtml(latin, "windows-1252"), "café");
  const meta = new TextEncoder().encode('<meta charset="iso-8859-1"><p>');
  const withMeta = new Uint8Array([...meta, 0xe9]);
  assertStringIncludes(decodeHtml(withMeta, null), "<p>é");
  assertEquals(decodeHtml(new TextEncoder().encode("naïve"), null), "naïve");
  assertEquals(decodeHtml(new TextEncoder().encode("ok"), "no-such-charset"), "ok");
});
