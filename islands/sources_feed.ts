/**
 * The hand-off between the run view's one event stream and the Sources panel: the run view pushes
 * every event it reads; the panel subscribes and keeps only `source` and `citations`. Keeps the
 * panel out of the run view's code (one line there) and the stream single.
 */

/** An event as the run view reads it. */
export interface FeedEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * True for the event that starts a search (again): a resumed run's search re-runs, and the
 * sources replayed from its earlier attempt no longer hold.
 */
export function startsSearch(e: FeedEvent): boolean {
  return e.type === "step" && e.data.name === "search" && e.data.state === "running";
}

/** A push/subscribe pair. */
export interface SourcesFeed {
  push(e: FeedEvent): void;
  subscribe(fn: (e: FeedEvent) => void): () => void;
}

/** A feed that replays what was pushed before a subscriber arrived. */
export function createSourcesFeed(): SourcesFeed {
  const seen: FeedEvent[] = [];
  const subs = new Set<(e: FeedEvent) => void>();
  return {
    push(e) {
      if (e.type !== "source" && e.type !== "citations" && e.type !== "done" && !startsSearch(e)) {
        return;
      }
      seen.push(e);
      for (const fn of subs) fn(e);
    },
    subscribe(fn) {
      for (const e of seen) fn(e);
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}
