/**
 * The run view's text, built only from the server's events: streamed tokens (`delta`, except
 * `aside` ones such as a plan being written) and every other edit (`text`: headings, notes, the
 * error report, a resumed step cutting back, the final arrangement), applied with the same
 * `applyTextOp` the server uses for the stored text. The view never lays text out itself.
 */
import { applyTextOp, type TextOp } from "../lib/research/text_ops.ts";
import type { StreamRenderer } from "./stream_render.ts";

/** Applies a text-bearing event to `r`; true when the event changed the text. */
export function applyRunEvent(
  r: StreamRenderer,
  e: { type: string; data: Record<string, unknown> },
): boolean {
  if (e.type === "delta") {
    if (e.data.aside) return false;
    r.append(String(e.data.text ?? ""));
    return true;
  }
  if (e.type !== "text") return false;
  const op = e.data as unknown as TextOp;
  if (op.op === "append") r.append(op.text);
  else {
    r.replace(applyTextOp(r.text, op));
  }
  return true;
}
