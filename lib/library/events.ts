/**
 * Live events of the Library's collections, for SSE: each subscriber first gets a `snapshot`
 * (collection, documents, progress), then every event as it happens. Events are not stored:
 * state lives in KV, so a reconnecting client's snapshot is the whole truth.
 */

/** One event, shaped like research run events (`id`, `event`, `data` frames). */
export interface LibraryEvent {
  seq: number;
  type: "snapshot" | "progress" | "document" | "collection";
  data: unknown;
}

type Listener = (e: LibraryEvent) => void;

/** Publish/subscribe per collection. */
export class LibraryEvents {
  #seq = 0;
  #listeners = new Map<string, Set<Listener>>();

  publish(collectionId: string, type: LibraryEvent["type"], data: unknown): void {
    const e: LibraryEvent = { seq: ++this.#seq, type, data };
    for (const l of this.#listeners.get(collectionId) ?? []) l(e);
  }

  /** Events of one collection until `signal` aborts; `snapshot` runs after subscribing. */
  async *follow(
    collectionId: string,
    snapshot: () => Promise<unknown>,
    signal: AbortSignal,
  ): AsyncGenerator<LibraryEvent> {
    const queue: LibraryEvent[] = [];
    let wake: (() => void) | null = null;
    const listener: Listener = (e) => {
      queue.push(e);
      wake?.();
    };
    const set = this.#listeners.get(collectionId) ?? new Set();
    this.#listeners.set(collectionId, set);
    set.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      yield { seq: ++this.#seq, type: "snapshot", data: await snapshot() };
      while (!signal.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((r) => wake = r);
          wake = null;
          continue;
        }
        yield queue.shift()!;
      }
    } finally {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(collectionId);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
