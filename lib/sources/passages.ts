/**
 * Cutting text into citable passages: whole blocks (paragraphs) packed up to a target size, a
 * block longer than the maximum split at sentence ends, so a cited passage reads as a unit.
 */

/** Default sizes in characters (~200-375 tokens). */
export const PASSAGE_TARGET = 800;
export const PASSAGE_MAX = 1500;

function splitLong(block: string, max: number): string[] {
  if (block.length <= max) return [block];
  const out: string[] = [];
  let rest = block;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    const cut = Math.max(
      window.lastIndexOf(". "),
      window.lastIndexOf("? "),
      window.lastIndexOf("! "),
      window.lastIndexOf("\n"),
    );
    const at = cut > max / 3
      ? cut + 1
      : window.lastIndexOf(" ") > max / 3
      ? window.lastIndexOf(" ")
      : max;
    out.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) out.push(rest);
  return out;
}

/** Passages of `text` (blocks separated by blank lines), in order, at most `limit`. */
export function cutPassages(
  text: string,
  opts: { target?: number; max?: number; limit?: number } = {},
): string[] {
  const target = opts.target ?? PASSAGE_TARGET;
  const max = opts.max ?? PASSAGE_MAX;
  const blocks = text.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean).flatMap((b) =>
    splitLong(b, max)
  );
  const out: string[] = [];
  let cur = "";
  for (const b of blocks) {
    if (cur && cur.length + b.length + 2 > target) {
      out.push(cur);
      cur = "";
    }
    cur = cur ? `${cur}\n\n${b}` : b;
    if (cur.length >= target) {
      out.push(cur);
      cur = "";
    }
    if (opts.limit && out.length >= opts.limit) return out.slice(0, opts.limit);
  }
  if (cur) out.push(cur);
  return opts.limit ? out.slice(0, opts.limit) : out;
}
