/**
 * The Sources panel of a run: fills as `source` events arrive (title, where, engine, whether the
 * page was read or only its snippet counts, and why); once the final `citations` event is in, it
 * lists the cited sources in citation order with "Also consulted" after, and turns every `[n]` in
 * the answer into a button that opens the passage it cites (fetched once from
 * `/api/research/{id}/sources`). Marker numbers during streaming are the prompt's, so markers
 * become clickable only when the run's numbering is final.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { RefObject } from "preact";
import { api } from "./api.ts";
import { type FeedEvent, type SourcesFeed, startsSearch } from "./sources_feed.ts";

/** A source as the panel shows it. */
export interface PanelSource {
  index: number;
  title: string;
  url: string | null;
  location: string;
  engine: string;
  state: string;
  note?: string;
}

interface Citation {
  n: number;
  source: number;
  passages: string[];
}

interface SourcesData {
  sources: (PanelSource & { snippet?: string })[];
  citations: { citations: Citation[]; removed: number } | null;
  passages: Record<string, string>;
}

/** Props: the run, the feed the run view pushes into, and the answer element to annotate. */
export interface SourcesPanelProps {
  runId: string;
  feed: SourcesFeed;
  answer: RefObject<HTMLElement | null>;
  /** True when the page loaded a finished run: fetch the stored sources at once. */
  finished: boolean;
}

const ENGINE: Record<string, string> = {
  searxng: "web",
  library: "Library",
  wikipedia: "Wikipedia",
  arxiv: "arXiv",
  none: "none",
};
const MARKER = /\[(\d{1,4})\]/g;

/** Wraps `[n]` text in the answer into buttons for known numbers (not inside code). */
function linkMarkers(root: HTMLElement, known: Set<number>): void {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const targets: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n as Text;
    if (t.parentElement?.closest("code, pre, button.cite")) continue;
    if (/\[\d{1,4}\]/.test(t.data)) targets.push(t);
  }
  for (const t of targets) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of t.data.matchAll(MARKER)) {
      const n = Number(m[1]);
      if (!known.has(n)) continue;
      frag.append(t.data.slice(last, m.index));
      const b = document.createElement("button");
      b.type = "button";
      b.className = "cite";
      b.dataset.cite = String(n);
      b.textContent = `[${n}]`;
      b.setAttribute("aria-label", `Source ${n}`);
      frag.append(b);
      last = m.index! + m[0].length;
    }
    if (last === 0) continue;
    frag.append(t.data.slice(last));
    t.replaceWith(frag);
  }
}

/** The panel. */
export function SourcesPanel({ runId, feed, answer, finished }: SourcesPanelProps) {
  const [sources, setSources] = useState<PanelSource[]>([]);
  const [cites, setCites] = useState<Citation[] | null>(null);
  const [removed, setRemoved] = useState(0);
  const [data, setData] = useState<SourcesData | null>(null);
  const [open, setOpen] = useState<{ n: number; top: number; left: number } | null>(null);
  // The kept text (with run numbers) replaces the streamed one when the run is done.
  const [ended, setEnded] = useState(finished);
  const popRef = useRef<HTMLDivElement>(null);

  async function load(): Promise<SourcesData | null> {
    const res = await api<SourcesData>("GET", `/api/research/${encodeURIComponent(runId)}/sources`);
    if (!res.ok) return null;
    setData(res.data);
    setSources(res.data.sources);
    if (res.data.citations) {
      setCites(res.data.citations.citations);
      setRemoved(res.data.citations.removed);
    }
    return res.data;
  }

  useEffect(() => {
    if (finished) load();
    return feed.subscribe((e: FeedEvent) => {
      if (e.type === "source") {
        const s = e.data as unknown as PanelSource;
        setSources((list) => {
          const i = list.findIndex((x) => x.index === s.index);
          if (i < 0) return [...list, s];
          const copy = list.slice();
          copy[i] = { ...copy[i], ...s };
          return copy;
        });
      } else if (startsSearch(e)) {
        setSources([]);
      } else if (e.type === "done") {
        setEnded(true);
      } else if (e.type === "citations") {
        setCites((e.data.citations as Citation[]) ?? []);
        setRemoved(Number(e.data.removed) || 0);
        load();
      }
    });
  }, [runId]);

  // Markers become buttons once numbering is final; re-applied when the answer re-renders.
  useEffect(() => {
    const el = answer.current;
    if (!el || !ended || !cites || !cites.length) return;
    const known = new Set(cites.map((c) => c.n));
    let busy = false;
    const apply = () => {
      if (busy) return;
      busy = true;
      linkMarkers(el, known);
      busy = false;
    };
    apply();
    const obs = new MutationObserver(() => {
      obs.disconnect();
      apply();
      obs.observe(el, { childList: true, subtree: true, characterData: true });
    });
    obs.observe(el, { childList: true, subtree: true, characterData: true });
    const onClick = (ev: MouseEvent) => {
      const b = (ev.target as HTMLElement).closest?.("button.cite") as HTMLElement | null;
      if (!b) return;
      const r = b.getBoundingClientRect();
      setOpen({ n: Number(b.dataset.cite), top: r.bottom + 6, left: r.left });
      if (!data) load();
    };
    el.addEventListener("click", onClick);
    return () => {
      obs.disconnect();
      el.removeEventListener("click", onClick);
    };
  }, [cites, ended, answer.current]);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(null);
    const onDown = (e: MouseEvent) => {
      const t = e.target as HTMLElement;
      if (!popRef.current?.contains(t) && !t.closest?.("button.cite")) setOpen(null);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onDown);
    popRef.current?.focus();
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onDown);
    };
  }, [open]);

  if (!sources.length && !cites) return null;
  const byIndex = new Map(sources.map((s) => [s.index, s]));
  const cited = cites ? [...cites].sort((a, b) => a.n - b.n) : [];
  const citedSet = new Set(cited.map((c) => c.source));
  const rest = sources.filter((s) => !citedSet.has(s.index));
  const openCite = open && cites?.find((c) => c.n === open.n);
  const openSource = openCite ? byIndex.get(openCite.source) : undefined;

  const item = (s: PanelSource, n?: number) => (
    <li key={s.index} class={`source ${s.state}`} id={n ? `source-${n}` : undefined}>
      {n !== undefined && <span class="source-n">[{n}]</span>}
      {s.url
        ? <a href={s.url} target="_blank" rel="noopener noreferrer">{s.title || s.url}</a>
        : <span class="source-title">{s.title}</span>}
      <span class="badge engine">{ENGINE[s.engine] ?? s.engine}</span>
      {s.state === "snippet" && <span class="badge snippet">snippet</span>}
      <span class="source-where muted small">{s.url ? new URL(s.url).host : s.location}</span>
      {s.note && <span class="source-note muted small">{s.note}</span>}
    </li>
  );

  return (
    <section class="panel sources-panel" aria-label="Sources">
      <h2>
        Sources <span class="muted small">({sources.length})</span>
      </h2>
      {cites
        ? (
          <>
            {cited.length > 0 && (
              <ol class="sources cited">
                {cited.map((c) => {
                  const s = byIndex.get(c.source);
                  return s ? item(s, c.n) : null;
                })}
              </ol>
            )}
            {rest.length > 0 && (
              <>
                <h3>Also consulted</h3>
                <ul class="sources">{rest.map((s) => item(s))}</ul>
              </>
            )}
            {removed > 0 && (
              <p class="muted small removed-note">
                {removed} citation{removed === 1 ? "" : "s"} pointing at no source removed.
              </p>
            )}
          </>
        )
        : <ul class="sources live">{sources.map((s) => item(s))}</ul>}
      {open && openCite && (
        <div
          class="cite-popover"
          role="dialog"
          aria-label={`Source ${open.n}`}
          tabIndex={-1}
          ref={popRef}
          style={{ top: `${open.top}px`, left: `${Math.max(8, open.left - 40)}px` }}
        >
          <p class="cite-head">
            <strong>[{open.n}]</strong> {openSource?.title}
          </p>
          <p class="muted small">
            {openSource?.url
              ? (
                <a href={openSource.url} target="_blank" rel="noopener noreferrer">
                  {openSource.url}
                </a>
              )
              : openSource?.location}
          </p>
          {data
            ? openCite.passages.map((id) => (
              <blockquote key={id} class="cite-passage">{data.passages[id] ?? ""}</blockquote>
            ))
            : <p class="muted">Loading the passage…</p>}
        </div>
      )}
    </section>
  );
}
