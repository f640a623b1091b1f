/**
 * Guards against JSON that is cheap to send and expensive to handle. `JSON.parse` copes with a body
 * nested millions of levels deep, but serialising it again (forwarding it upstream, echoing it in
 * an error) blocks the event loop for seconds: every other request waits. So nesting is measured
 * with one linear scan before parsing, and values quoted in error messages are cut short.
 */

/** Deepest nesting of arrays and objects any JSON body may have; real requests stay far below. */
export const MAX_JSON_DEPTH = 64;

/** Longest quote of a client's value inside an error message. */
export const MAX_ECHO_CHARS = 200;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * Tracks nesting over a JSON byte stream, chunk by chunk, so a body can be refused as soon as it
 * goes too deep, before the rest of it arrives. Brackets inside strings do not count. Works on
 * UTF-8 bytes: quotes, backslashes and brackets are ASCII and never occur inside a multi-byte
 * character. Linear, no allocation.
 */
export class DepthScanner {
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(readonly max = MAX_JSON_DEPTH) {}

  /** Feeds the next chunk; false once the nesting went deeper than `max`. */
  push(chunk: Uint8Array | string): boolean {
    // Locals in the loop, one element type per access: a body is scanned at the speed of a
    // byte loop (private fields and a mixed string/bytes access in the loop were ~10x slower).
    const bytes = typeof chunk === "string" ? null : chunk;
    const text = typeof chunk === "string" ? chunk : "";
    const max = this.max;
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    let ok = true;
    for (let i = 0; i < chunk.length; i++) {
      const c = bytes !== null ? bytes[i] : text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
        if (++depth > max) {
          ok = false;
          break;
        }
      } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    return ok;
  }
}

/** Whether `text` (JSON or not) opens more than `max` arrays/objects at once. */
export function jsonTooDeep(text: string | Uint8Array, max = MAX_JSON_DEPTH): boolean {
  return !new DepthScanner(max).push(text);
}

/**
 * Parses JSON text from outside (an upstream answer, a search engine's page), or undefined when
 * it is empty, not JSON, or nested deeper than `max`: for callers that word their own error.
 */
export function parseBoundedJson(text: string, max = MAX_JSON_DEPTH): unknown {
  if (text.trim() === "" || jsonTooDeep(text, max)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The message for a body refused by `jsonTooDeep`. */
export function tooDeepMessage(max = MAX_JSON_DEPTH): string {
  return `The JSON nests arrays or objects more than ${max} levels deep; flatten it`;
}

/**
 * A short rendering of a client's value for an error message: at most `max` characters, and never
 * a full serialisation of a deep or huge value (which could itself block the event loop).
 */
export function preview(value: unknown, max = MAX_ECHO_CHARS): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value.slice(0, max + 1));
  else if (Array.isArray(value)) text = value.length ? "an array" : "[]";
  else if (value !== null && typeof value === "object") text = "an object";
  else text = String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
