/**
 * Renders a growing Markdown text into an element without re-rendering the whole document per
 * token: text up to the last safe block boundary (a blank line outside a code fence, followed by
 * an unindented line) is rendered once and appended; only the unfinished tail block is rendered
 * again, at most once per animation frame. Until the Markdown chunk has loaded, the tail shows as
 * plain text. `finish()` renders the complete text once, so the final page is exactly what one
 * full render gives.
 */

/** Markdown to sanitised HTML. */
export type MarkdownFn = (markdown: string) => string;

/** A live renderer bound to one element. */
export interface StreamRenderer {
  readonly text: string;
  append(chunk: string): void;
  /** Replaces everything (e.g. the server's final text) and renders it in full. */
  finish(full?: string): void;
  /** Starts over from empty (replay after a reconnect that could not resume). */
  reset(): void;
  /** Replaces the text and renders it at once (no empty frame: the page keeps its place). */
  replace(full: string): void;
  setMarkdown(md: MarkdownFn): void;
}

/** Index just after the last safe split point in `text` at or after `from`, or `from`. */
export function safeSplit(text: string, from: number, fenceOpen: boolean): [number, boolean] {
  let split = from;
  let splitFence = fenceOpen;
  let fence = fenceOpen;
  let lineStart = from;
  let prevBlank = false;
  while (true) {
    const nl = text.indexOf("\n", lineStart);
    if (nl < 0) break;
    const line = text.slice(lineStart, nl);
    // A new unindented line after a blank one starts a fresh block: split before it.
    if (!fence && prevBlank && /^\S/.test(line)) {
      split = lineStart;
      splitFence = false;
    }
    if (/^ {0,3}(```|~~~)/.test(line)) fence = !fence;
    prevBlank = line.trim() === "";
    lineStart = nl + 1;
  }
  return [split, splitFence];
}

/** Creates a renderer that owns `el`'s children. */
export function createStreamRenderer(el: HTMLElement): StreamRenderer {
  let md: MarkdownFn | null = null;
  let text = "";
  let committed = 0;
  let fenceAtCommit = false;
  let frame = 0;
  let finished = false;
  let doneEl: HTMLElement;
  let tailEl: HTMLElement;

  function clear() {
    el.replaceChildren();
    doneEl = el.appendChild(document.createElement("div"));
    tailEl = el.appendChild(document.createElement("div"));
    doneEl.className = "md-done";
    tailEl.className = "md-tail";
    committed = 0;
    fenceAtCommit = false;
  }
  clear();

  function render() {
    frame = 0;
    if (!md) {
      tailEl.textContent = text;
      return;
    }
    const [split, fence] = safeSplit(text, committed, fenceAtCommit);
    if (split > committed) {
      doneEl.insertAdjacentHTML("beforeend", md(text.slice(committed, split)));
      committed = split;
      fenceAtCommit = fence;
    }
    tailEl.innerHTML = md(text.slice(committed));
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  return {
    get text() {
      return text;
    },
    append(chunk) {
      if (!chunk) return;
      text += chunk;
      schedule();
    },
    finish(full) {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      if (full !== undefined) text = full;
      finished = true;
      clear();
      if (md) doneEl.innerHTML = md(text);
      else tailEl.textContent = text;
    },
    reset() {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      text = "";
      finished = false;
      clear();
    },
    replace(full) {
      if (frame) cancelAnimationFrame(frame);
      text = full;
      clear();
      render();
    },
    setMarkdown(fn) {
      md = fn;
      if (finished) return this.finish();
      clear();
      schedule();
    },
  };
}
