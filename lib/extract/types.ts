/**
 * What every extractor returns and how it fails. Extraction turns a file's bytes into *blocks*
 * (a heading or a paragraph, with its page and heading path) so chunking can respect structure
 * and every chunk can say where it came from.
 */

/** A run of text with its place in the document. */
export interface Block {
  text: string;
  /** Page from 1 (PDF), or null for formats without pages. */
  page: number | null;
  /** Headings above this block, outermost first (a heading block includes itself). */
  headingPath: string[];
  /** True for a heading line. */
  heading?: boolean;
}

/** A document's text. */
export interface Extracted {
  /** A title found inside the document (first heading, PDF metadata), or null. */
  title: string | null;
  blocks: Block[];
  /** Number of pages for paged formats, else null. */
  pages: number | null;
  format: DocumentFormat;
}

/** Formats the Library reads. */
export type DocumentFormat = "txt" | "md" | "html" | "pdf" | "docx";

/** Why one document could not be read; the reason is one line a user can act on. */
export type ExtractErrorKind =
  | "empty"
  | "too_large"
  | "binary"
  | "no_text_layer"
  | "encrypted"
  | "corrupt"
  | "unsupported";

/** A per-document failure: the other documents go on. */
export class ExtractError extends Error {
  constructor(readonly kind: ExtractErrorKind, message: string) {
    super(message);
    this.name = "ExtractError";
  }
}

/** Default cap on one document's size: 50 MiB. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 50 * 1024 * 1024;
