/** Shared test scaffolding for the provider module: settings, deps and event collection. */
import { PROVIDERS } from "../../lib/providers/records.ts";
import { resolveWith } from "../../lib/providers/resolve.ts";
import type { StreamDeps } from "../../lib/providers/stream.ts";
import type { ProviderId, ResolvedProvider, StreamEvent } from "../../lib/providers/types.ts";
import { defaultSettings, type Settings } from "../../lib/settings/schema.ts";

/** Default settings with some keys changed. */
export function settingsWith(overrides: Partial<Settings> = {}): Settings {
  return { ...defaultSettings(), ...overrides };
}

/** Stream deps over the real fetch and clock. */
export function streamDeps(
  overrides: Partial<Settings> = {},
  extra: Partial<StreamDeps> = {},
): StreamDeps {
  return {
    fetch: globalThis.fetch.bind(globalThis),
    now: () => performance.now(),
    settings: settingsWith(overrides),
    inContainer: false,
    ...extra,
  };
}

/** HTTP deps (status probe, model lists). */
export function httpDeps(inContainer = false) {
  return { fetch: globalThis.fetch.bind(globalThis), now: () => performance.now(), inContainer };
}

/** A provider pointed at `url` with `key` (unsaved values). */
export function provider(id: ProviderId, url: string, key = ""): ResolvedProvider {
  return resolveWith(PROVIDERS[id], url, key);
}

/** Runs a stream to its end. */
export async function collect(gen: AsyncGenerator<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of gen) out.push(ev);
  return out;
}

/** The concatenated delta text of a run. */
export function text(events: StreamEvent[]): string {
  return events.filter((e) => e.type === "delta").map((e) => (e as { text: string }).text).join(
    "",
  );
}

/** The final event (done or error). */
export function last(events: StreamEvent[]): StreamEvent {
  return events[events.length - 1];
}

/** A TCP server that accepts connections and never answers (for timeouts). */
export function blackHole() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* closed */ }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      for (const c of conns) {
        try {
          c.close();
        } catch { /* gone */ }
      }
      listener.close();
    },
  };
}

/** A port nothing listens on. */
export function refusedUrl(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `http://127.0.0.1:${port}`;
}
