/** Extraction of every format from real generated files, and every per-document failure. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { extractDocument, formatOf } from "../../lib/extract/extract.ts";
import { ExtractError } from "../../lib/extract/types.ts";
import { makeDocx, makeEncryptedPdf, makePdf, makeScannedPdf, utf8 } from "./files.ts";

async function failure(name: string, bytes: Uint8Array, opts = {}): Promise<ExtractError> {
  const err = await assertRejects(() => extractDocument(name, bytes, opts), ExtractError);
  assert(!err.message.includes("\n"), "the reason is one line");
  return err as ExtractError;
}

Deno.test("a multi-page PDF keeps its text page by page, numbered from 1", async () => {
  const pages = [1, 2, 3, 4, 5].map((n) => [`Page ${n} talks about topic${n}.`, `More on ${n}.`]);
  const out = await extractDocument("report.pdf", await makePdf(pages, "Quarterly report"));
  assertEquals(out.format, "pdf");
  assertEquals(out.pages, 5);
  assertEquals(out.title, "Quarterly report");
  const third = out.blocks.filter((b) => b.page === 3).map((b) => b.text).join(" ");
  assertStringIncludes(third, "Page 3 talks about topic3.");
  assert(!third.includes("topic4"));
  assertEquals(out.blocks[0].page, 1);
});

Deno.test("a scanned PDF without a text layer is refused with that reason", async () => {
  const err = await failure("scan.pdf", await makeScannedPdf());
  assertEquals(err.kind, "no_text_layer");
  assertStringIncludes(err.message, "OCR");
});

Deno.test("a password-protected PDF is refused as encrypted", async () => {
  const err = await failure("locked.pdf", await makeEncryptedPdf());
  assertEquals(err.kind, "encrypted");
});

Deno.test("corrupt PDFs and .docx files are refused as corrupt", async () => {
  assertEquals(
    (await failure("bad.pdf", utf8("%PDF-1.7\nnot really a pdf at all"))).kind,
    "corrupt",
  );
  assertEquals((await failure("fake.pdf", utf8("hello"))).kind, "corrupt");
  const truncated = (await makePdf([["a"]])).slice(0, 200);
  assertEquals((await failure("cut.pdf", truncated)).kind, "corrupt");
  assertEquals((await failure("bad.docx", utf8("PK\u0003\u0004 nope"))).kind, "corrupt");
  assertEquals((await failure("plain.docx", utf8("just text"))).kind, "corrupt");
});

Deno.test("a .docx keeps its heading path", async () => {
  const out = await extractDocument(
    "notes.docx",
    await makeDocx([[1, "Setup"], [0, "Install the thing."], [2, "Linux"], [
      0,
      "Use apt & friends <ok>.",
    ], [
      1,
      "Usage",
    ], [0, "Run it."]]),
  );
  assertEquals(out.format, "docx");
  assertEquals(out.title, "Setup");
  const apt = out.blocks.find((b) => b.text.startsWith("Use apt"))!;
  assertEquals(apt.text, "Use apt & friends <ok>.");
  assertEquals(apt.headingPath, ["Setup", "Linux"]);
  assertEquals(out.blocks.find((b) => b.text === "Run it.")!.headingPath, ["Usage"]);
});

Deno.test("Markdown headings nest; code fences are not headings", async () => {
  const md =
    "# Guide\n\nIntro text.\n\n## Install\n\n```sh\n# not a heading\n```\n\n### Linux\n\napt it.\n\n## Use\n\nGo.";
  const out = await extractDocument("guide.md", utf8(md));
  assertEquals(out.title, "Guide");
  assertEquals(out.blocks.find((b) => b.text === "apt it.")!.headingPath, [
    "Guide",
    "Install",
    "Linux",
  ]);
  assertEquals(out.blocks.find((b) => b.text === "Go.")!.headingPath, ["Guide", "Use"]);
  assert(
    out.blocks.some((b) =>
      b.text.includes("# not a heading") && b.headingPath.join() === "Guide,Install"
    ),
  );
});

Deno.test("text: UTF-8 with BOM and CRLF, UTF-16; binary content under a text name is refused", async () => {
  const out = await extractDocument("a.txt", utf8("\uFEFFFirst para.\r\n\r\nSecond para é."));
  assertEquals(out.blocks.map((b) => b.text), ["First para.", "Second para é."]);
  const u16 = new Uint8Array([
    0xff,
    0xfe,
    ...new Uint8Array(new Uint16Array([...("hi there")].map((c) => c.charCodeAt(0))).buffer),
  ]);
  assertEquals((await extractDocument("w.txt", u16)).blocks[0].text, "hi there");
  const png = new Uint8Array([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    0,
    0,
    0,
    13,
    1,
    2,
    3,
  ]);
  assertEquals((await failure("image.txt", png)).kind, "binary");
  assertEquals(
    (await failure("latin1.md", new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff]))).kind,
    "binary",
  );
});

Deno.test("empty files, whitespace-only files and files over the cap are refused", async () => {
  assertEquals((await failure("e.txt", new Uint8Array())).kind, "empty");
  assertEquals((await failure("w.md", utf8("  \n\n \t\n"))).kind, "empty");
  const big = await failure("big.txt", new Uint8Array(50 * 1024 * 1024 + 1));
  assertEquals(big.kind, "too_large");
  assertStringIncludes(big.message, "50 MiB");
  assertEquals((await failure("small.txt", utf8("12345"), { maxBytes: 4 })).kind, "too_large");
});

Deno.test("unsupported types are refused; formats come from the extension", async () => {
  assertEquals((await failure("movie.mp4", utf8("x"))).kind, "unsupported");
  assertEquals(formatOf("A.PDF"), "pdf");
  assertEquals(formatOf("notes.markdown"), "md");
  assertEquals(formatOf("noext"), null);
});

Deno.test("HTML: the article's text with its heading path, page chrome dropped", async () => {
  const body = Array.from(
    { length: 6 },
    (_, i) => `<p>Paragraph ${i} about tidal energy and the moon's pull on the sea.</p>`,
  ).join("");
  const html = `<!doctype html><html><head><title>Tides</title></head><body><nav>Home | About</nav>
    <article><h1>Tides explained</h1>${body}<h2>Spring tides</h2><p>Sun and moon align twice a month, so the range is largest.</p></article>
    <footer>© site</footer></body></html>`;
  const out = await extractDocument("tides.html", utf8(html));
  assertEquals(out.format, "html");
  assertEquals(out.title, "Tides");
  const spring = out.blocks.find((b) => b.text.startsWith("Sun and moon"))!;
  // Readability drops the <h1> that repeats the page title; the <h2> still sets the path.
  assertEquals(spring.headingPath, ["Spring tides"]);
  assert(!out.blocks.some((b) => b.text.includes("Home | About")));
  assertEquals((await failure("x.html", new Uint8Array([0x3c, 0, 0, 0, 1, 2]))).kind, "binary");
});
