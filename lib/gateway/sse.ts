/**
 * The /v1 relay's usage stripper, on the provider module's one SSE framing (lib/providers/sse.ts).
 * The gateway asks upstream for usage on every stream (LM Studio and llama.cpp send none
 * otherwise) and must undo what that adds for clients that did not ask for it. Everything else
 * stays exactly the bytes upstream sent: frames are found by scanning for blank lines, only a
 * frame that contains the bytes `"usage"` is ever decoded, and untouched frames are re-emitted as
 * sub-arrays of the chunk they arrived in.
 */

import {
  concatBytes,
  indexOfBytes,
  lastEventEnd,
  nextEventEnd,
  parseEvent,
} from "../providers/sse.ts";

export { indexOfBytes, lastEventEnd };

const encoder = new TextEncoder();
const USAGE = encoder.encode('"usage"');
const FINISH = encoder.encode('"finish_reason"');
/** A partial frame larger than this is not an SSE event we can strip: give up and pass through. */
const MAX_PENDING = 1024 * 1024;

/** The chunk's JSON when it is the one a server sends only because `include_usage` was set. */
function usageOnlyChunk(frame: Uint8Array): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(parseEvent(frame)?.data ?? "");
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const v = value as { choices?: unknown; usage?: unknown };
  return Array.isArray(v.choices) && v.choices.length === 0 && typeof v.usage === "object" &&
      v.usage !== null
    ? value as Record<string, unknown>
    : null;
}

/** True for the chunk a server sends only because `include_usage` was set: no choices, a usage. */
export function isUsageOnlyEvent(frame: Uint8Array): boolean {
  return usageOnlyChunk(frame) !== null;
}

/** Cheap pre-check: the event has the key (`"usage"`, `"finish_reason"`) with a non-null value. */
function hasNonNull(frame: Uint8Array, key: Uint8Array): boolean {
  for (let at = indexOfBytes(frame, key); at !== -1; at = indexOfBytes(frame, key, at + 1)) {
    let i = at + key.length;
    while (frame[i] === 32 || frame[i] === 58) i++; // spaces and the colon
    if (frame[i] !== 110) return true; // not `null`
  }
  return false;
}

/** Fields every chunk carries; whatever else a usage chunk has is not the injection's doing. */
const ENVELOPE = new Set([
  "id",
  "object",
  "created",
  "model",
  "system_fingerprint",
  "service_tier",
  "obfuscation",
  "choices",
  "usage",
]);

/** The usage chunk's own fields beyond usage and the envelope (llama.cpp: `timings`). */
function extraFields(chunk: Record<string, unknown>): [string, unknown][] {
  return Object.entries(chunk).filter(([k]) => !ENVELOPE.has(k));
}

/**
 * `frame` (a finish chunk) with `fields` appended to its JSON object, every existing byte kept:
 * where llama.cpp puts `timings` when no usage chunk follows (03-chat-stream.txt).
 */
function withFields(frame: Uint8Array, fields: [string, unknown][]): Uint8Array {
  let existing: Record<string, unknown> = {};
  try {
    existing = JSON.parse(parseEvent(frame)?.data ?? "{}");
  } catch { /* not JSON: nothing to merge into */ }
  const add = fields.filter(([k]) => !Object.hasOwn(existing ?? {}, k));
  const close = frame.lastIndexOf(125); // the object's closing brace
  if (add.length === 0 || close === -1) return frame;
  const insert = encoder.encode(
    add.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join(""),
  );
  return concatBytes([frame.subarray(0, close), insert, frame.subarray(close)]);
}

/** Undoes `include_usage` on a stream of SSE bytes; see {@link createUsageStripper}. */
export interface UsageStripper {
  /** The bytes to send for this upstream chunk (null: nothing yet). */
  push(chunk: Uint8Array): Uint8Array | null;
  /** Whatever is still held at the end of the stream (an unterminated last event). */
  flush(): Uint8Array | null;
  /** Usage-only events removed so far. */
  readonly stripped: number;
}

/**
 * A stripper for one stream: the client gets what the server would have sent without the
 * injected `include_usage`. Only the `usage` field is the injection's: a usage chunk with nothing
 * else is dropped whole; llama.cpp moves `timings` from the finish chunk onto the usage chunk when
 * usage is on, so with `restoreFinishFields` (a llama.cpp server) those go back onto the finish
 * chunk, which then waits for the next event (always the usage chunk or `[DONE]`) to know; other
 * servers' chunks go out 1:1. Any other extra field stays on a usage chunk without `usage`.
 * Complete events go out with the chunk that completed them; an unterminated trailing event is
 * held until its blank line arrives (no SSE client can act on half an event anyway). After the
 * usage chunk the stream passes through untouched: servers send it once, last before `[DONE]`.
 */
export function createUsageStripper(
  opts: { restoreFinishFields?: boolean } = {},
): UsageStripper {
  const hold = opts.restoreFinishFields ?? false;
  let pending: Uint8Array | null = null;
  /** A finish chunk waiting to learn whether the usage chunk carries fields it would have had. */
  let held: Uint8Array | null = null;
  let passThrough = false;
  let stripped = 0;

  function frame(f: Uint8Array, out: Uint8Array[]): void {
    if (passThrough) {
      out.push(f);
      return;
    }
    const usage = hasNonNull(f, USAGE) ? usageOnlyChunk(f) : null;
    if (usage) {
      stripped++;
      passThrough = true;
      const extra = extraFields(usage);
      if (held) out.push(extra.length ? withFields(held, extra) : held);
      else if (extra.length) {
        const { usage: _, ...rest } = usage;
        out.push(encoder.encode(`data: ${JSON.stringify(rest)}\n\n`));
      }
      held = null;
      return;
    }
    if (held) out.push(held);
    held = null;
    if (hold && hasNonNull(f, FINISH)) held = f;
    else out.push(f);
  }

  function push(chunk: Uint8Array): Uint8Array | null {
    if (passThrough) return chunk;
    const data = pending ? concatBytes([pending, chunk]) : chunk;
    pending = null;
    const end = lastEventEnd(data);
    if (end < data.length) {
      if (data.length - end > MAX_PENDING) {
        passThrough = true;
        const all = held ? concatBytes([held, data]) : data;
        held = null;
        return all;
      }
      pending = data.slice(end);
    }
    if (end === 0) return null;
    const complete = end === data.length ? data : data.subarray(0, end);
    if (
      !held && indexOfBytes(complete, USAGE) === -1 && !(hold && hasNonNull(complete, FINISH))
    ) {
      return complete;
    }
    const out: Uint8Array[] = [];
    for (let start = 0; start < end;) {
      const stop = nextEventEnd(complete, start);
      const frameEnd = stop === -1 ? end : stop;
      frame(complete.subarray(start, frameEnd), out);
      start = frameEnd;
    }
    if (passThrough && pending) {
      out.push(pending);
      pending = null;
    }
    return out.length ? concatBytes(out) : null;
  }

  return {
    push,
    flush() {
      const rest = [held, pending].filter((p): p is Uint8Array => p !== null);
      held = null;
      pending = null;
      return rest.length ? concatBytes(rest) : null;
    },
    get stripped() {
      return stripped;
    },
  };
}
