/**
 * Plain text and Markdown. Bytes must be UTF-8 (a UTF-8 BOM is dropped; UTF-16 with a BOM is
 * decoded); NUL bytes or invalid UTF-8 mean a binary file with a text name, refused rather than
 * indexed as garbage.
 */
import { type Block, type Extracted, ExtractError } from "./types.ts";

/** Decodes text bytes or throws `ExtractError` "binary". */
export function decodeText(bytes: Uint8Array, name: string): string {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder("utf-16le").decode(bytes);
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder("utf-16be").decode(bytes);
  else {
    if (bytes.subarray(0, 8192).includes(0)) throw binary(name);
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      throw binary(name);
    }
  }
  // Control characters other than tab/newline/CR/FF in quantity: not text.
  // deno-lint-ignore no-control-regex
  const controls = text.slice(0, 65536).match(/[\x00-\x08\x0e-\x1f]/g)?.length ?? 0;
  if (controls > 16) throw binary(name);
  return text.replace(/\r\n?/g, "\n");
}

function binary(name: string): ExtractError {
  return new ExtractError("binary", `${name} is not text (binary content under a text file name)`);
}

function paragraphs(text: string): string[] {
  return text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p !== "");
}

/** A .txt file: paragraphs separated by blank lines. */
export function extractTxt(bytes: Uint8Array, name: string): Extracted {
  const blocks: Block[] = paragraphs(decodeText(bytes, name)).map((text) => ({
    text,
    page: null,
    headingPath: [],
  }));
  return { title: null, blocks, pages: null, format: "txt" };
}

/** A Markdown file: ATX headings (`#`..`######`) set the heading path of what follows. */
export function extractMarkdown(bytes: Uint8Array, name: string): Extracted {
  const text = decodeText(bytes, name);
  const blocks: Block[] = [];
  const path: string[] = [];
  let buffer: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    for (const p of paragraphs(buffer.join("\n"))) {
      blocks.push({ text: p, page: null, headingPath: [...path] });
    }
    buffer = [];
  };
  for (const line of text.split("\n")) {
    const fenceMatch = /^\s*(```|~~~)/.exec(line);
    if (fenceMatch) {
      if (fence === null) fence = fenceMatch[1];
      else if (fence === fenceMatch[1]) fence = null;
      buffer.push(line);
      continue;
    }
    const h = fence === null ? /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line) : null;
    if (h) {
      flush();
      const level = h[1].length;
      path.length = Math.min(path.length, level - 1);
      while (path.length < level - 1) path.push("");
      path.push(h[2]);
      blocks.push({ text: h[2], page: null, headingPath: path.filter((p) => p), heading: true });
    } else buffer.push(line);
  }
  flush();
  for (const b of blocks) b.headingPath = b.headingPath.filter((p) => p !== "");
  const title = blocks.find((b) => b.heading)?.text ?? null;
  return { title, blocks, pages: null, format: "md" };
}
