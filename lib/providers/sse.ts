/**
 * The one SSE reader of the provider module: completions (`stream.ts`), the /v1 relay's usage
 * stripper (`lib/gateway/sse.ts`) and stream guard (`lib/gateway/stream_guard.ts`) and any native
 * streaming API read events with these functions, so every path agrees on where an event ends. The
 * rule (the WHATWG event-stream format, as every server in tests/fixtures/transcripts sends it):
 * lines end with LF or CRLF, an event ends at a blank line, `data:` lines join with "\n", lines
 * starting with `:` are comments, and an event without data is not dispatched. (A bare CR as the
 * only line ending is not supported; no server we know sends it.)
 *
 * Frames are found on bytes with native `indexOf` scans, so the relay can hand on untouched
 * events as the exact bytes that arrived; only events someone needs are decoded. A stream read in
 * chunks goes through one `EventScanner`, which finds event ends inside each chunk without copying
 * it, a blank line split over two reads included, and refuses an event larger than the cap.
 */
import { BodyTooLargeError } from "./errors.ts";
import { MAX_EVENT_BYTES } from "./http.ts";
import { concatBytes } from "../net/read_capped.ts";

export { concatBytes };

const LF = 10;
const CR = 13;
const decoder = new TextDecoder();

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, or null for the default ("message"). */
  event: string | null;
  /** The joined `data:` lines. */
  data: string;
  /** The `id:` field, or null. */
  id: string | null;
}

/**
 * Index of `needle` in `hay` at or after `from`, or -1. Scans for the needle's second byte with
 * the native `indexOf` (for `"usage"` that is `u`, which no key of a chat chunk contains), so a
 * frame without it costs one native scan.
 */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  const anchor = needle.length > 1 ? 1 : 0;
  const a = needle[anchor];
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(a, from + anchor); i !== -1; i = hay.indexOf(a, i + 1)) {
    const start = i - anchor;
    if (start > last) return -1;
    let j = 0;
    while (j < needle.length && hay[start + j] === needle[j]) j++;
    if (j === needle.length) return start;
  }
  return -1;
}

/** True when the LF at `i` ends a blank line (`\n\n` or `\r\n\r\n`): the end of an event. */
function endsEvent(data: Uint8Array, i: number, from: number): boolean {
  if (i - 1 < from) return false;
  if (data[i - 1] === LF) return true;
  return i - 3 >= from && data[i - 1] === CR && data[i - 2] === LF;
}

/** Offset just past the last complete event in `data`, or 0 when none is complete. */
export function lastEventEnd(data: Uint8Array): number {
  for (let i = data.lastIndexOf(LF); i > 0; i = data.lastIndexOf(LF, i - 1)) {
    if (endsEvent(data, i, 0)) return i + 1;
  }
  return 0;
}

/** True when `data` ends exactly at the end of an event (so a new event may follow cleanly). */
export function endsAtEventEnd(data: Uint8Array): boolean {
  const n = data.length;
  return n > 0 && data[n - 1] === LF && endsEvent(data, n - 1, 0);
}

/** Offset just past the first complete event at or after `from`, or -1. */
export function nextEventEnd(data: Uint8Array, from: number): number {
  for (let i = data.indexOf(LF, from); i !== -1; i = data.indexOf(LF, i + 1)) {
    if (endsEvent(data, i, from)) return i + 1;
  }
  return -1;
}

/** Decodes one frame (the bytes of one event, blank line included); null when nothing to dispatch. */
export function parseEvent(frame: Uint8Array): SseEvent | null {
  const lines = decoder.decode(frame).split(/\r?\n/);
  const data: string[] = [];
  let event: string | null = null;
  let id: string | null = null;
  for (const line of lines) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id") id = value;
  }
  return data.length ? { event, data: data.join("\n"), id } : null;
}

/** Event ends in a stream read in chunks (see `createEventScanner`). */
export interface EventScanner {
  /**
   * Offset just past the first event end in `chunk` at or after `from`, or -1 when the event
   * going on at `from` does not end in this chunk (scan the next chunk from 0). Call it on each
   * chunk in order, from 0 and then from each offset it returned.
   */
  next(chunk: Uint8Array, from: number): number;
  /** Bytes of the event in progress that arrived in earlier chunks (0 at an event boundary). */
  readonly pending: number;
}

/**
 * The scanner of one stream: the rule of `nextEventEnd`, carried across chunks by remembering the
 * last two bytes of the unfinished event (`…\n` | `\n…` and `…\r\n\r` | `\n` end an event too).
 * A chunk with no event end costs one native scan for LF per line in it, and nothing is copied.
 * An event larger than `maxEvent` throws `BodyTooLargeError`, however it was split (a chat chunk
 * is a few hundred bytes; an endless one would otherwise be held whole by whoever reads it).
 */
export function createEventScanner(maxEvent = MAX_EVENT_BYTES): EventScanner {
  let pending = 0;
  let b1 = -1; // the unfinished event's last byte, -1 for none
  let b2 = -1; // and the one before it
  return {
    get pending() {
      return pending;
    },
    next(chunk, from) {
      for (let i = chunk.indexOf(LF, from); i !== -1; i = chunk.indexOf(LF, i + 1)) {
        const p1 = i > from ? chunk[i - 1] : b1;
        // As in `endsEvent`: `\r\n\r\n` counts only with a byte of the event before it.
        if (
          p1 === LF ||
          (p1 === CR && pending + i - from >= 3 &&
            (i - 2 >= from ? chunk[i - 2] : i - 1 === from ? b1 : b2) === LF)
        ) {
          const size = pending + i + 1 - from;
          pending = 0;
          b1 = b2 = -1;
          if (size > maxEvent) throw new BodyTooLargeError(maxEvent, "event");
          return i + 1;
        }
      }
      const n = chunk.length - from;
      pending += n;
      if (pending > maxEvent) throw new BodyTooLargeError(maxEvent, "event");
      if (n >= 2) {
        b2 = chunk[chunk.length - 2];
        b1 = chunk[chunk.length - 1];
      } else if (n === 1) {
        b2 = b1;
        b1 = chunk[from];
      }
      return -1;
    },
  };
}

/** An incremental parser: bytes in as they arrive, complete events out. */
export interface SseParser {
  push(chunk: Uint8Array): SseEvent[];
  /** The events of an unterminated last frame (a server that closed without the blank line). */
  flush(): SseEvent[];
}

/** A parser for one stream; an event larger than `maxEvent` throws `BodyTooLargeError`. */
export function createSseParser(maxEvent = MAX_EVENT_BYTES): SseParser {
  const scanner = createEventScanner(maxEvent);
  let parts: Uint8Array[] = []; // the unfinished event's bytes from earlier chunks
  return {
    push(chunk) {
      const out: SseEvent[] = [];
      let start = 0;
      for (let end = scanner.next(chunk, 0); end !== -1; end = scanner.next(chunk, start)) {
        const piece = chunk.subarray(start, end);
        const ev = parseEvent(parts.length ? concatBytes([...parts, piece]) : piece);
        parts = [];
        if (ev) out.push(ev);
        start = end;
      }
      // Copied: a reader may reuse its buffer for the next chunk.
      if (start < chunk.length) parts.push(chunk.slice(start));
      return out;
    },
    flush() {
      const rest = parts.length ? concatBytes(parts) : null;
      parts = [];
      const ev = rest ? parseEvent(rest) : null;
      return ev ? [ev] : [];
    },
  };
}

/**
 * The events of an SSE body, in order. `onBytes` sees every read (the idle timeout's touch).
 * Stopping early (`return()` or a break) cancels the body.
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  onBytes?: () => void,
): AsyncGenerator<SseEvent, void, undefined> {
  const reader = body.getReader();
  const parser = createSseParser();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        break;
      }
      onBytes?.();
      for (const ev of parser.push(r.value)) yield ev;
    }
    for (const ev of parser.flush()) yield ev;
  } finally {
    if (!done) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
