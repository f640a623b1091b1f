/**
 * .docx (Office Open XML): the text of `word/document.xml`, paragraph by paragraph, with Word's
 * heading styles (`Heading1`..`Heading9`, `Title`) setting the heading path. Read with JSZip
 * rather than mammoth: mammoth's promise library (bluebird) assigns `Object.prototype.__proto__`,
 * which Deno disables, so it fails in `deno run` without `--unsafe-proto` (measured; see
 * docs/decisions/library-index.md). JSZip is the zip reader mammoth itself uses.
 */
import { type Block, type Extracted, ExtractError } from "./types.ts";

// deno-lint-ignore no-explicit-any
let jszip: Promise<any> | null = null;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1));
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e] ?? m;
  });
}

/** One paragraph's text and heading level (0 = body text). */
function paragraph(xml: string): { text: string; level: number } {
  const style = /<w:pStyle\s+w:val="([^"]+)"/.exec(xml)?.[1] ?? "";
  const heading = /^(?:Heading|heading )(\d)$/.exec(style);
  const level = style === "Title" ? 1 : heading ? Number(heading[1]) : 0;
  let text = "";
  for (const m of xml.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>|<w:(tab|br|cr)\b[^>]*\/>/g)) {
    text += m[1] !== undefined ? unescapeXml(m[1]) : m[2] === "tab" ? "\t" : "\n";
  }
  return { text: text.trim(), level };
}

/** Extracts a .docx file's paragraphs and headings. */
export async function extractDocx(bytes: Uint8Array, name: string): Promise<Extracted> {
  const JSZip = (await (jszip ??= import("jszip"))).default;
  let xml: string;
  try {
    const zip = await JSZip.loadAsync(bytes);
    const entry = zip.file("word/document.xml");
    if (!entry) throw new Error("no word/document.xml inside");
    xml = await entry.async("string");
  } catch (e) {
    const detail = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    if (/encrypt/i.test(detail)) {
      throw new ExtractError("encrypted", `${name} is encrypted: save an unprotected copy`);
    }
    throw new ExtractError("corrupt", `${name} is not a readable .docx file (${detail})`);
  }
  const blocks: Block[] = [];
  const path: string[] = [];
  for (const m of xml.matchAll(/<w:p[ >][\s\S]*?<\/w:p>/g)) {
    const { text, level } = paragraph(m[0]);
    if (!text) continue;
    if (level > 0) {
      path.length = Math.min(path.length, level - 1);
      path.push(text);
      blocks.push({ text, page: null, headingPath: [...path], heading: true });
    } else blocks.push({ text, page: null, headingPath: [...path] });
  }
  const title = blocks.find((b) => b.heading)?.text ?? null;
  return { title, blocks, pages: null, format: "docx" };
}
