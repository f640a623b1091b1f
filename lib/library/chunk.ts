/**
 * Structure-aware chunking. A chunk never crosses a page or a heading (so its location is one
 * page or one heading path), packs whole sentences up to a token budget that fits the embedding
 * model's context, and repeats the last sentences of the previous chunk of the same section as
 * overlap, so a passage cut at a boundary is still found whole. Every chunk carries the character
 * range of the document's extracted text (blocks joined by a blank line) it was cut from.
 */
import type { Block } from "../extract/types.ts";
import type { ChunkText } from "./index/types.ts";

/** One chunk, before embedding. */
export interface Chunk extends ChunkText {
  tokens: number;
}

/** Chunk sizes, in estimated tokens. */
export interface ChunkOptions {
  maxTokens: number;
  overlapTokens: number;
}

/** Fits nomic-embed-text (2048) and llama.cpp's default 512-token batch with room to spare. */
export const DEFAULT_CHUNKING: ChunkOptions = { maxTokens: 384, overlapTokens: 48 };

/**
 * Tokens of `text`, estimated without the model's tokenizer: about 4 characters per token for
 * English BPE vocabularies, and at least one per word or symbol run, whichever is larger.
 */
export function estimateTokens(text: string): number {
  return Math.max(Math.ceil(text.length / 4), asciiPieces(text) ?? unicodePieces(text));
}

/** Word runs and single symbols (the chunker's unit of "at least one token"). */
function unicodePieces(text: string): number {
  return text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0;
}

/**
 * `unicodePieces` for ASCII text, by one scan without allocating the matches (the chunker counts
 * every sentence twice: this was a tenth of the indexing job's main-thread time); null as soon as
 * a character is not ASCII.
 */
function asciiPieces(text: string): number | null {
  let pieces = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 127) return null;
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (alnum) {
      if (!inWord) pieces++;
      inWord = true;
      continue;
    }
    inWord = false;
    // JavaScript's \s in ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
    if (!((c >= 9 && c <= 13) || c === 32)) pieces++;
  }
  return pieces;
}

/** Separator between blocks in the document's text. */
export const BLOCK_SEPARATOR = "\n\n";

/** The document's extracted text: the ranges of chunks point into it. */
export function documentText(blocks: Block[]): string {
  return blocks.map((b) => b.text).join(BLOCK_SEPARATOR);
}

interface Unit {
  start: number;
  end: number;
  tokens: number;
}

/** Sentences of a block (absolute offsets); a sentence over the budget is cut at words. */
function units(text: string, offset: number, max: number): Unit[] {
  const out: Unit[] = [];
  for (const m of text.matchAll(/[^.!?\n]*(?:[.!?]+["')\]]*|\n|$)\s*/g)) {
    if (m[0].trim() === "") continue;
    const s = offset + m.index!;
    const tokens = estimateTokens(m[0]);
    if (tokens <= max) {
      out.push({ start: s, end: s + m[0].length, tokens });
      continue;
    }
    // Over-long sentence: windows of words.
    let winStart = -1;
    let winTokens = 0;
    let last = 0;
    for (const w of m[0].matchAll(/\S+\s*/g)) {
      const t = estimateTokens(w[0]);
      if (winStart >= 0 && winTokens + t > max) {
        out.push({ start: s + winStart, end: s + w.index!, tokens: winTokens });
        winStart = -1;
        winTokens = 0;
      }
      if (winStart < 0) winStart = w.index!;
      winTokens += t;
      last = w.index! + w[0].length;
    }
    if (winStart >= 0) out.push({ start: s + winStart, end: s + last, tokens: winTokens });
  }
  return out;
}

/** Cuts a document's blocks into chunks. */
export function chunkBlocks(blocks: Block[], opts: ChunkOptions = DEFAULT_CHUNKING): Chunk[] {
  const text = documentText(blocks);
  const chunks: Chunk[] = [];
  let offset = 0;
  let i = 0;
  while (i < blocks.length) {
    // A section: consecutive blocks on one page under one heading path.
    const key = `${blocks[i].page}|${blocks[i].headingPath.join("\u0000")}`;
    const section: Unit[] = [];
    const page = blocks[i].page;
    const path = blocks[i].headingPath;
    while (
      i < blocks.length && `${blocks[i].page}|${blocks[i].headingPath.join("\u0000")}` === key
    ) {
      section.push(...units(blocks[i].text, offset, opts.maxTokens));
      offset += blocks[i].text.length + BLOCK_SEPARATOR.length;
      i++;
    }
    let first = 0;
    while (first < section.length) {
      let last = first;
      let tokens = section[first].tokens;
      while (last + 1 < section.length && tokens + section[last + 1].tokens <= opts.maxTokens) {
        tokens += section[++last].tokens;
      }
      const start = section[first].start;
      const end = section[last].end;
      const body = text.slice(start, end);
      const trimmedEnd = end - (body.length - body.trimEnd().length);
      chunks.push({
        ord: chunks.length,
        text: text.slice(start, trimmedEnd),
        page,
        heading: path.length ? path.join(" > ") : null,
        start,
        end: trimmedEnd,
        tokens,
      });
      if (last + 1 >= section.length) break;
      // Overlap: step back over trailing sentences worth at most overlapTokens.
      let next = last + 1;
      let carried = 0;
      while (next - 1 > first && carried + section[next - 1].tokens <= opts.overlapTokens) {
        carried += section[--next].tokens;
      }
      first = next;
    }
  }
  return chunks;
}
