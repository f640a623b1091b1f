/**
 * One entry point for every format: picks the extractor from the file name (checked against the
 * content's magic bytes), enforces the size cap and turns "nothing to index" into a typed,
 * per-document error so one bad file never stops a collection.
 */
import { extractDocx } from "./docx.ts";
import { extractPdf } from "./pdf.ts";
import { decodeText, extractMarkdown, extractTxt } from "./text.ts";
import {
  DEFAULT_MAX_DOCUMENT_BYTES,
  type DocumentFormat,
  type Extracted,
  ExtractError,
} from "./types.ts";

/**
 * HTML through the web reader's extractor (Readability over linkedom, lib/extract/html.ts). Its
 * text marks headings with `#` like Markdown, so the Markdown block parser recovers the heading
 * path from it. The bytes must still be text: binary content under an .html name is refused.
 */
async function extractHtmlDocument(bytes: Uint8Array, name: string): Promise<Extracted> {
  decodeText(bytes, name);
  const { decodeHtml, extractHtml } = await import("./html.ts");
  const page = extractHtml(decodeHtml(bytes, null));
  const md = extractMarkdown(new TextEncoder().encode(page.text), name);
  return { ...md, title: page.title || md.title, format: "html" };
}

/** Extension → format. */
const FORMATS: Record<string, DocumentFormat> = {
  txt: "txt",
  text: "txt",
  md: "md",
  markdown: "md",
  html: "html",
  htm: "html",
  pdf: "pdf",
  docx: "docx",
};

/** The format a file name stands for, or null when the Library does not read it. */
export function formatOf(name: string): DocumentFormat | null {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase() ?? "";
  return FORMATS[ext] ?? null;
}

/** Extensions the Library reads (for folder scans and the upload picker). */
export const SUPPORTED_EXTENSIONS = Object.keys(FORMATS);

/** Options of one extraction. */
export interface ExtractOptions {
  maxBytes?: number;
}

/** Extracts one document or throws `ExtractError`. */
export async function extractDocument(
  name: string,
  bytes: Uint8Array,
  opts: ExtractOptions = {},
): Promise<Extracted> {
  const max = opts.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  if (bytes.byteLength > max) {
    throw new ExtractError(
      "too_large",
      `${name} is ${(bytes.byteLength / 1048576).toFixed(1)} MiB, over the ${
        (max / 1048576).toFixed(0)
      } MiB limit`,
    );
  }
  if (bytes.byteLength === 0) throw new ExtractError("empty", `${name} is empty`);
  const format = formatOf(name);
  const isPdf = bytes[0] === 0x25 && bytes[1] === 0x50 && bytes[2] === 0x44 && bytes[3] === 0x46;
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  let out: Extracted;
  switch (format) {
    case "pdf":
      if (!isPdf) throw new ExtractError("corrupt", `${name} is not a PDF (no %PDF header)`);
      out = await extractPdf(bytes, name);
      break;
    case "docx":
      if (!isZip) throw new ExtractError("corrupt", `${name} is not a .docx file (not a zip)`);
      out = await extractDocx(bytes, name);
      break;
    case "md":
      out = extractMarkdown(bytes, name);
      break;
    case "txt":
      out = extractTxt(bytes, name);
      break;
    case "html":
      out = await extractHtmlDocument(bytes, name);
      break;
    default:
      throw new ExtractError(
        "unsupported",
        `${name}: unsupported file type (the Library reads ${SUPPORTED_EXTENSIONS.join(", ")})`,
      );
  }
  if (!out.blocks.some((b) => b.text.trim() !== "")) {
    throw new ExtractError("empty", `${name} contains no text`);
  }
  return out;
}
