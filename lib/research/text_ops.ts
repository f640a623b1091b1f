/**
 * The edits that build a run's text. The server applies each one to the stored text and emits it
 * as an event (`delta` for streamed tokens, `text` for everything else: headings, notes, the
 * error report, a resume cutting back an interrupted step, the final arrangement); the run view
 * applies the same events with this same function. So there is one producer of the layout, and
 * folding a run's events always gives exactly the stored text.
 */

/** One edit of the text. */
export type TextOp =
  /** Adds text at the end. */
  | { op: "append"; text: string }
  /** Cuts the text back to its first `length` UTF-16 units (a re-run step starts over). */
  | { op: "truncate"; length: number }
  /**
   * Rebuilds the text from pieces: strings are new text, `[start, end]` pairs are slices of the
   * current text (so reordering a long report costs a few numbers, not a copy of it).
   */
  | { op: "compose"; parts: (string | [number, number])[] };

/** The text after `op`. */
export function applyTextOp(text: string, op: TextOp): string {
  switch (op.op) {
    case "append":
      return text + op.text;
    case "truncate":
      return text.slice(0, Math.max(0, op.length));
    case "compose":
      return op.parts.map((p) => (typeof p === "string" ? p : text.slice(p[0], p[1]))).join("");
  }
}
