/**
 * Reads a response body with a size cap enforced while streaming: the read stops (and the body
 * is cancelled) as soon as the cap is passed, so a huge or endless body costs at most `max`
 * bytes of memory. A declared Content-Length above the cap is refused without reading.
 */

/**
 * The body's bytes, or null when it is larger than `max`. `onChunk` sees each chunk within the cap
 * (an idle timer, say). The one capped reader of deepstudio: fetched pages, search answers and every
 * read from an LLM server (lib/providers/http.ts) go through it.
 */
export async function readCapped(
  res: Response,
  max: number,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<Uint8Array | null> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return new Uint8Array(0);
  // Declared within the cap and not compressed, so what comes is what was declared (the HTTP
  // client stops at Content-Length): read whole by the runtime in one go rather than chunk by
  // chunk through the event loop, where every chunk waits for whatever JS is running (a 500 KB
  // embeddings answer is dozens of chunks; the Library's indexing waited on them).
  const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
  if (!onChunk && Number.isFinite(declared) && !encoded) {
    return new Uint8Array(await res.arrayBuffer());
  }
  return await readStreamCapped(res.body, max, onChunk);
}

/**
 * Ends a read from outside: called once when the read starts with `stop(reason)`, which cancels
 * the stream and makes the read throw `reason`; returns what disarms it when the read ends.
 */
export type ReadStopper = (stop: (reason: unknown) => void) => () => void;

/**
 * A byte stream read whole, or null (the stream cancelled) as soon as more than `max` bytes have
 * come. `onChunk` sees every chunk within the cap as it arrives; when it throws, the stream is
 * cancelled and the error passes on. Errors of the stream itself pass on as they are. `stopper`
 * can end the read early (a deadline) without wrapping the stream. Request bodies
 * (lib/http/body.ts) and responses share it.
 */
export async function readStreamCapped(
  body: ReadableStream<Uint8Array>,
  max: number,
  onChunk?: (chunk: Uint8Array) => void,
  stopper?: ReadStopper,
): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const stopped: { reason?: unknown; yes: boolean } = { yes: false };
  const disarm = stopper?.((reason) => {
    if (stopped.yes) return;
    stopped.yes = true;
    stopped.reason = reason;
    reader.cancel(reason).catch(() => {}); // resolves the pending read as done
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (stopped.yes) throw stopped.reason;
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => {});
        return null;
      }
      try {
        onChunk?.(value);
      } catch (e) {
        await reader.cancel().catch(() => {});
        throw e;
      }
      chunks.push(value);
    }
  } finally {
    disarm?.();
  }
  return concatBytes(chunks);
}

/** The bytes of `parts` in one array (the part itself when there is only one). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
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
