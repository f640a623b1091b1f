/**
 * Citations that hold. The model cites the numbered passages of its prompt as `[n]`; afterwards
 * every marker is checked: a number that names no passage is removed (and counted), a valid one
 * is rewritten to the run's citation number of the passage's source, numbered in the order
 * sources are first cited across the whole run (so a detailed report keeps one numbering across
 * its sections). Reasoning blocks (`<think>…</think>`) are cut before any of this.
 */
import type { Citation, Passage } from "./types.ts";

/** Removes reasoning: `<think>…</think>` blocks, an unclosed one to the end, and a leading
 * stretch ending in a lone `</think>` (templates that open the block in the prompt). */
export function stripThink(text: string): string {
  let out = text;
  const close = out.indexOf("</think>");
  const open = out.indexOf("<think>");
  if (close >= 0 && (open < 0 || open > close)) out = out.slice(close + "</think>".length);
  out = out.replace(/<think>[\s\S]*?<\/think>/g, "");
  const dangling = out.indexOf("<think>");
  if (dangling >= 0) out = out.slice(0, dangling);
  return out.replace(/^\s+/, "");
}

/**
 * A run of adjacent marker groups (`[3]`, `[1, 2]`, `[1-3]`, `[2; 5]`, `[1][4]`) with the space
 * before it; not link text `[3](url)` nor footnotes `[^3]`.
 */
const MARKER = /([ \t]?)((?:\[\d{1,4}(?:\s*[,;–-]\s*\d{1,4})*\](?!\())+)/g;

/** The numbers of a run of groups, in order. */
function numbersOfRun(run: string): number[] {
  return [...run.matchAll(/\[([^\]]+)\]/g)].flatMap((m) => numbersIn(m[1]));
}

/** The replacement of one marker group: its space kept only when something remains. */
function render(lead: string, ns: number[]): string {
  return ns.length ? lead + ns.map((n) => `[${n}]`).join("") : "";
}

function numbersIn(group: string): number[] {
  const out: number[] = [];
  for (const part of group.split(/\s*[,;]\s*/)) {
    const range = part.match(/^(\d+)\s*[–-]\s*(\d+)$/);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b >= a && b - a <= 20) { for (let i = a; i <= b; i++) out.push(i); }
      else out.push(NaN);
    } else out.push(Number(part));
  }
  return out;
}

/** A citation book as stored (a research step's checkpoint and output carry it). */
export interface CitationState {
  citations: Citation[];
  removed: number;
}

/** The run-wide citation state: source → number, passages cited under it. */
export class CitationBook {
  readonly bySource = new Map<number, Citation>();
  removed = 0;

  constructor(existing: readonly Citation[] = [], removed = 0) {
    for (const c of existing) this.bySource.set(c.source, { ...c, passages: [...c.passages] });
    this.removed = removed;
  }

  /** A book resumed from its stored state (a fresh one without). */
  static from(state?: CitationState): CitationBook {
    return new CitationBook(state?.citations, state?.removed);
  }

  /** The state to store: citations in number order and the count of removed markers. */
  state(): CitationState {
    return { citations: this.list(), removed: this.removed };
  }

  /** The citation number of `passage`'s source (assigned on first citation). */
  cite(passage: Passage): number {
    let c = this.bySource.get(passage.source);
    if (!c) {
      c = { n: this.bySource.size + 1, source: passage.source, passages: [] };
      this.bySource.set(passage.source, c);
    }
    if (!c.passages.includes(passage.id)) c.passages.push(passage.id);
    return c.n;
  }

  /** Citations in number order. */
  list(): Citation[] {
    return [...this.bySource.values()].sort((a, b) => a.n - b.n);
  }

  /**
   * Rewrites an answer's markers: `numbered[i-1]` is prompt passage `[i]`. Unknown numbers are
   * removed and counted; returns the rewritten text and how many were removed here.
   */
  resolve(text: string, numbered: readonly Passage[]): { text: string; removed: number } {
    let removed = 0;
    const out = text.replace(MARKER, (_m, lead: string, run: string) => {
      const ns: number[] = [];
      for (const i of numbersOfRun(run)) {
        const p = Number.isInteger(i) && i >= 1 ? numbered[i - 1] : undefined;
        if (!p) {
          removed++;
          continue;
        }
        const n = this.cite(p);
        if (!ns.includes(n)) ns.push(n);
      }
      return render(lead, ns);
    });
    this.removed += removed;
    return { text: out, removed };
  }

  /** Checks markers that already use run numbers (a synthesis of cited sections). */
  verify(text: string): { text: string; removed: number } {
    const valid = new Set(this.list().map((c) => c.n));
    let removed = 0;
    const out = text.replace(MARKER, (_m, lead: string, run: string) => {
      const ns = numbersOfRun(run).filter((n) => {
        const ok = valid.has(n);
        if (!ok) removed++;
        return ok;
      });
      return render(lead, [...new Set(ns)]);
    });
    this.removed += removed;
    return { text: out, removed };
  }
}

/** Every marker number in `text` (for checks and tests). */
export function markersIn(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(MARKER)) out.push(...numbersOfRun(m[2]));
  return out;
}
