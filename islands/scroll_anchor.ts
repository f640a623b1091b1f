/**
 * Keeps what the reader is looking at in place while the answer's DOM is rebuilt: a detailed
 * report is rearranged when it completes (report first, research notes after), a resumed step
 * cuts text back, and the final render replaces the streamed one. The browser's own scroll
 * anchoring cannot follow a block that was replaced, so the view remembers the block at the top
 * of the viewport (by its section heading, its text and which of equal blocks in that section it
 * is), applies the change, finds that block again and scrolls by however far it moved.
 */

/** The block the reader had at the top of the viewport. */
export interface Anchor {
  section: string;
  text: string;
  nth: number;
  top: number;
}

interface Block {
  el: Element;
  section: string;
  text: string;
  nth: number;
}

/** The answer's top-level blocks (children of the renderer's parts), with their section. */
function blocks(root: HTMLElement): Block[] {
  const out: Block[] = [];
  let section = "";
  const seen = new Map<string, number>();
  for (const el of root.querySelectorAll(":scope > div > *")) {
    const text = (el.textContent ?? "").trim();
    if (/^H[1-6]$/.test(el.tagName)) {
      section = text;
      seen.clear();
    }
    const nth = seen.get(text) ?? 0;
    seen.set(text, nth + 1);
    out.push({ el, section, text, nth });
  }
  return out;
}

/** The block at the viewport's top, or null when the answer's start (or none of it) is in view. */
export function captureAnchor(root: HTMLElement | null): Anchor | null {
  if (!root) return null;
  const box = root.getBoundingClientRect();
  if (box.top >= 0 || box.bottom <= 0) return null;
  for (const b of blocks(root)) {
    const r = b.el.getBoundingClientRect();
    if (r.bottom > 0) return { section: b.section, text: b.text, nth: b.nth, top: r.top };
  }
  return null;
}

/** Scrolls so the anchored block is where it was; true when it was found. */
export function restoreAnchor(root: HTMLElement | null, a: Anchor | null): boolean {
  if (!root || !a) return false;
  const all = blocks(root).filter((b) => b.section === a.section && b.text === a.text);
  const hit = all.find((b) => b.nth === a.nth) ?? all[0];
  if (!hit) return false;
  const moved = hit.el.getBoundingClientRect().top - a.top;
  if (Math.abs(moved) >= 1) scrollBy({ top: moved, behavior: "instant" });
  return true;
}

/** Runs `change` (a synchronous DOM rebuild of `root`) without moving what the reader sees. */
export function keepInView(root: HTMLElement | null, change: () => void): boolean {
  const a = captureAnchor(root);
  change();
  return restoreAnchor(root, a);
}
