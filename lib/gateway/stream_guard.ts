/**
 * Watches a /v1 stream event by event on its way to the client, without touching what it need not:
 *
 * - Error events (`data: {"error":…}` or `event: error`, the way LM Studio and llama.cpp report a
 *   failure mid-stream, see tests/fixtures/transcripts) are held until complete and relayed with
 *   secrets redacted (the provider's key, `Bearer …`, `sk-…`): servers echo request headers in
 *   errors. Every other event keeps its exact bytes, handed on in the chunk it arrived in.
 * - One event larger than `maxEvent` stops the stream (`BodyTooLargeError`): an SSE event is a few
 *   hundred bytes, and an endless one would otherwise be held in memory by whoever parses it.
 * - Where an event ends is the provider module's one SSE rule (`createEventScanner` of
 *   lib/providers/sse.ts), the same every other reader of a stream uses; a chunk in which no event
 *   ends costs that scan and nothing more.
 * - A stream that ends without `data: [DONE]` and without an error event was cut or malformed
 *   (`data: {not json` and then the end): `end()` gives the error event to close it with, so the
 *   client hears about it instead of a silent stop.
 */
import { concatBytes as concat, createEventScanner } from "../providers/sse.ts";

/** Bytes of an event's start needed to tell what it is. */
const HEAD = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Kind = "unknown" | "plain" | "error" | "done";

/** The guard of one stream. */
export interface StreamGuard {
  /** The bytes to hand on for `chunk` (the same array when untouched, or null for none yet). */
  push(chunk: Uint8Array): Uint8Array | null;
  /** At a clean end of the upstream body: what is still held plus, when needed, `cutEvent()`. */
  end(): Uint8Array | null;
}

/** What an event is, from its first bytes; "unknown" while too few have arrived to tell. */
function classify(head: string, complete: boolean): Kind {
  const start = head.replace(/^[\r\n]+/, "");
  if (/^event:[ \t]*error[ \t]*\r?\n/.test(start)) return "error";
  if (/^data:[ \t]*\{[ \t\r\n]*"error"/.test(start)) return "error";
  if (/^data:[ \t]*\[DONE\]/.test(start)) return "done";
  return start.length >= HEAD || complete ? "plain" : "unknown";
}

const DATA_OBJECT = new TextEncoder().encode('data: {"');

/**
 * The common case without decoding: `data: {"` followed by anything but `e` (an `"error"` key) is
 * a chat chunk, as every event but the last of a completion is. Reads `chunk[from, stop)`.
 */
function isPlainChunk(chunk: Uint8Array, from: number, stop: number): boolean {
  if (stop - from <= DATA_OBJECT.length) return false;
  for (let i = 0; i < DATA_OBJECT.length; i++) if (chunk[from + i] !== DATA_OBJECT[i]) return false;
  return chunk[from + DATA_OBJECT.length] !== 0x65;
}

/** A guard that redacts with `redact` and closes a cut stream with `cutEvent()`. */
export function createStreamGuard(opts: {
  redact: (text: string) => string;
  cutEvent: () => Uint8Array;
  maxEvent?: number;
}): StreamGuard {
  const scanner = createEventScanner(opts.maxEvent);
  let kind: Kind = "unknown";
  let head = "";
  let held: Uint8Array[] = [];
  let sawDone = false;
  let sawError = false;

  /**
   * Ends the current event, pushing what it releases (held bytes, redacted for an error) to `out`,
   * which is set whenever anything is held (an error event always is).
   */
  function finishEvent(out: Uint8Array[] | null) {
    if (kind === "error") {
      sawError = true;
      out!.push(encoder.encode(opts.redact(decoder.decode(concat(held)))));
    } else if (held.length) out!.push(...held);
    if (kind === "done") sawDone = true;
    held = [];
    head = "";
    kind = "unknown";
  }

  return {
    push(chunk) {
      // Null while every byte of `chunk` so far passes as is, in order (the common case, which
      // then allocates nothing); once one does not, the output is collected here.
      let out: Uint8Array[] | null = null;
      let pos = 0;
      while (pos < chunk.length) {
        const end = scanner.next(chunk, pos);
        const stop = end === -1 ? chunk.length : end;
        if (kind === "unknown") {
          if (head === "" && isPlainChunk(chunk, pos, stop)) kind = "plain";
          else {
            head += decoder.decode(chunk.subarray(pos, Math.min(pos + HEAD, stop)));
            kind = classify(head, end !== -1);
          }
        }
        const passes = kind === "plain" || kind === "done";
        if (!out && (held.length || !passes)) out = pos ? [chunk.subarray(0, pos)] : [];
        if (passes) {
          if (held.length) {
            out!.push(...held);
            held = [];
          }
          out?.push(chunk.subarray(pos, stop));
        } else held.push(chunk.slice(pos, stop));
        if (end !== -1) finishEvent(out);
        pos = stop;
      }
      if (!out) return chunk.length ? chunk : null;
      return out.length ? concat(out) : null;
    },
    end() {
      const out: Uint8Array[] = [];
      const midEvent = scanner.pending > 0;
      if (held.length) {
        if (kind === "error") sawError = true;
        out.push(...held);
      }
      held = [];
      if (!sawDone && !sawError) {
        if (midEvent) out.push(encoder.encode("\n\n"));
        out.push(opts.cutEvent());
      }
      return out.length ? concat(out) : null;
    },
  };
}
