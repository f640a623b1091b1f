/**
 * The /v1 relay's usage stripper, on the provider module's one SSE framing (lib/providers/sse.ts).
 * The gateway asks upstream for usage on every stream (LM Studio and llama.cpp send none
 * otherwise) and must hide what that adds from clients that did not ask for it. Everything else stays exactly the bytes upstream sent: frames are found
 * by scanning for blank lines, only a frame that contains the bytes `"usage"` is ever decoded, and
 * untouched frames are re-emitted as sub-arrays of the chunk they arrived in.
 */

import { indexOfBytes, lastEventEnd, nextEventEnd, parseEvent } from "../providers/sse.ts";

export { indexOfBytes, lastEventEnd };

const USAGE = new TextEncoder().encode('"usage"');
/** A partial frame larger than this is not an SSE event we can strip: give up and pass through. */
const MAX_PENDING = 1024 * 1024;

/** True for the chunk a server sends only because `include_usage` was set: no choices, a usage. */
export function isUsageOnlyEvent(frame: Uint8Array): boolean {
  let value: unknown;
  try {
    value = JSON.parse(parseEvent(frame)?.data ?? "");
  } catch {
    return false;
  }
  if (typeof value !== "object" || value === null) return false;
  const v = value as { choices?: unknown; usage?: unknown };
  return Array.isArray(v.choices) && v.choices.length === 0 && typeof v.usage === "object" &&
    v.usage !== null;
}

/** Cheap pre-check: the event has a `"usage"` key whose value is not `null`. */
function mayBeUsage(frame: Uint8Array): boolean {
  for (let at = indexOfBytes(frame, USAGE); at !== -1; at = indexOfBytes(frame, USAGE, at + 1)) {
    let i = at + USAGE.length;
    while (frame[i] === 32 || frame[i] === 58) i++; // spaces and the colon
    if (frame[i] !== 110) return true; // not `null`
  }
  return false;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Removes usage-only events from a stream of SSE bytes; see {@link createUsageStripper}. */
export interface UsageStripper {
  /** The bytes to send for this upstream chunk (null: nothing yet). */
  push(chunk: Uint8Array): Uint8Array | null;
  /** Whatever is still held at the end of the stream (an unterminated last event). */
  flush(): Uint8Array | null;
  /** Usage-only events removed so far. */
  readonly stripped: number;
}

/**
 * A stripper for one stream. Complete events go out with the chunk that completed them; only an
 * unterminated trailing event is held back until its blank line arrives (no SSE client can act on
 * half an event anyway). After the usage event has been removed the stream is passed through
 * untouched: servers send it once, last before `[DONE]`.
 */
export function createUsageStripper(): UsageStripper {
  let pending: Uint8Array | null = null;
  let passThrough = false;
  let stripped = 0;

  function push(chunk: Uint8Array): Uint8Array | null {
    if (passThrough) return chunk;
    const data = pending ? concat([pending, chunk]) : chunk;
    pending = null;
    const end = lastEventEnd(data);
    if (end < data.length) {
      if (data.length - end > MAX_PENDING) {
        passThrough = true;
        return data;
      }
      pending = data.slice(end);
    }
    if (end === 0) return null;
    const complete = end === data.length ? data : data.subarray(0, end);
    if (indexOfBytes(complete, USAGE) === -1) return complete;
    const keep: Uint8Array[] = [];
    let start = 0;
    while (start < end) {
      const stop = nextEventEnd(complete, start);
      const frameEnd = stop === -1 ? end : stop;
      const frame = complete.subarray(start, frameEnd);
      if (mayBeUsage(frame) && isUsageOnlyEvent(frame)) {
        stripped++;
        passThrough = true;
      } else keep.push(frame);
      start = frameEnd;
    }
    if (!passThrough) return complete;
    if (pending) {
      keep.push(pending);
      pending = null;
    }
    return keep.length ? concat(keep) : null;
  }

  return {
    push,
    flush() {
      const rest = pending;
      pending = null;
      return rest;
    },
    get stripped() {
      return stripped;
    },
  };
}
