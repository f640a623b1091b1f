/**
 * PDF through unpdf (a maintained, runtime-agnostic build of Mozilla's PDF.js): the text layer
 * page by page, so every chunk keeps its page number (from 1, as a PDF viewer shows it). A PDF
 * whose pages carry no text (a scan) is refused with that reason, as are encrypted and corrupt
 * files; the names of PDF.js's exceptions (`PasswordException`, `InvalidPDFException`) tell them
 * apart.
 */
import { type Block, type Extracted, ExtractError } from "./types.ts";

// deno-lint-ignore no-explicit-any
type Unpdf = any;
let unpdf: Promise<Unpdf> | null = null;

/** PDF.js is ~2 MB of code: loaded on the first PDF, not at startup. */
function loadUnpdf(): Promise<Unpdf> {
  return unpdf ??= import("unpdf");
}

/** Extracts a PDF's text layer page by page. */
export async function extractPdf(bytes: Uint8Array, name: string): Promise<Extracted> {
  const { getDocumentProxy } = await loadUnpdf();
  // deno-lint-ignore no-explicit-any
  let doc: any;
  try {
    // PDF.js may transfer (detach) the buffer: give it a copy.
    doc = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, verbosity: 0 });
  } catch (e) {
    throw pdfError(e, name);
  }
  try {
    const blocks: Block[] = [];
    let title: string | null = null;
    try {
      const meta = await doc.getMetadata();
      const t = meta?.info?.Title;
      if (typeof t === "string" && t.trim()) title = t.trim();
    } catch { /* metadata is optional */ }
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      let text = "";
      for (const item of content.items as { str?: string; hasEOL?: boolean }[]) {
        if (typeof item.str !== "string") continue;
        text += item.str + (item.hasEOL ? "\n" : "");
      }
      page.cleanup();
      for (const para of text.split(/\n\s*\n/).map((s) => s.replace(/[ \t]+/g, " ").trim())) {
        if (para) blocks.push({ text: para, page: p, headingPath: [] });
      }
    }
    if (blocks.length === 0) {
      throw new ExtractError(
        "no_text_layer",
        `${name} has no text layer (a scanned PDF?): run OCR on it first, e.g. ocrmypdf`,
      );
    }
    return { title, blocks, pages: doc.numPages, format: "pdf" };
  } catch (e) {
    throw e instanceof ExtractError ? e : pdfError(e, name);
  } finally {
    await Promise.resolve(doc.destroy?.() ?? doc.cleanup?.()).catch(() => {});
  }
}

function pdfError(e: unknown, name: string): ExtractError {
  const err = e as { name?: string; message?: string };
  if (err?.name === "PasswordException") {
    return new ExtractError("encrypted", `${name} is password-protected: save an unprotected copy`);
  }
  const detail = (err?.message ?? String(e)).split("\n")[0];
  return new ExtractError("corrupt", `${name} is not a readable PDF (${detail})`);
}
