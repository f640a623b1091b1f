/**
 * Separates a model's reasoning from its answer while the content streams. Reasoning models served
 * without a reasoning parser (llama.cpp's `--reasoning-format none`, many GGUF chat templates)
 * write their thinking into the content as `<think>…</think>`; servers with one send it in a
 * separate `reasoning`/`reasoning_content` field instead (docs/providers.md, LM Studio streams).
 * Either way the thinking must not become part of the report: the run keeps it as `reasoning`
 * events, shown collapsed under the answer.
 *
 * Tags may be split across chunks, so a chunk ending in what could be the start of a tag is held
 * back until the next one decides. Templates that open the block in the prompt stream the thinking
 * with only a closing `</think>`: when a close tag comes first, `lone` says that everything this
 * stream produced before it was reasoning too (the caller moves it). The same cases are cut from
 * finished text by `stripThink` (lib/sources/citations.ts).
 */

const OPEN = "<think>";
const CLOSE = "</think>";

/** What one chunk became. */
export interface ThinkPiece {
  answer: string;
  reasoning: string;
  /** A `</think>` came before any `<think>`: the answer so far was reasoning. */
  lone: boolean;
}

/** A stateful splitter for one stream. */
export interface ThinkSplitter {
  push(chunk: string): ThinkPiece;
  /** The stream ended: whatever was held back, in the mode it was in. */
  end(): ThinkPiece;
}

/** Length of the longest suffix of `s` that is a proper prefix of one of `tags`. */
function partialTag(s: string, tags: string[]): number {
  for (let n = Math.min(s.length, 8); n > 0; n--) {
    const tail = s.slice(-n);
    if (tags.some((t) => t.length > n && t.startsWith(tail))) return n;
  }
  return 0;
}

/** Creates a splitter; `<think>` blocks are matched case-sensitively, as models emit them. */
export function createThinkSplitter(): ThinkSplitter {
  let thinking = false;
  let seenTag = false;
  let held = "";
  return {
    push(chunk) {
      const out: ThinkPiece = { answer: "", reasoning: "", lone: false };
      let buf = held + chunk;
      held = "";
      while (buf) {
        if (thinking) {
          const close = buf.indexOf(CLOSE);
          if (close >= 0) {
            out.reasoning += buf.slice(0, close);
            buf = buf.slice(close + CLOSE.length);
            thinking = false;
            continue;
          }
          const keep = partialTag(buf, [CLOSE]);
          out.reasoning += buf.slice(0, buf.length - keep);
          held = buf.slice(buf.length - keep);
          break;
        }
        const open = buf.indexOf(OPEN);
        const close = seenTag ? -1 : buf.indexOf(CLOSE);
        if (close >= 0 && (open < 0 || close < open)) {
          // The block was opened by the template: all of it so far was reasoning.
          out.reasoning += out.answer + buf.slice(0, close);
          out.answer = "";
          out.lone = true;
          seenTag = true;
          buf = buf.slice(close + CLOSE.length);
          continue;
        }
        if (open >= 0) {
          out.answer += buf.slice(0, open);
          buf = buf.slice(open + OPEN.length);
          thinking = true;
          seenTag = true;
          continue;
        }
        const keep = partialTag(buf, seenTag ? [OPEN] : [OPEN, CLOSE]);
        out.answer += buf.slice(0, buf.length - keep);
        held = buf.slice(buf.length - keep);
        break;
      }
      return out;
    },
    end() {
      const rest = held;
      held = "";
      return thinking
        ? { answer: "", reasoning: rest, lone: false }
        : { answer: rest, reasoning: "", lone: false };
    },
  };
}
