/**
 * Reads a response body with a size cap enforced while streaming: the read stops (and the body
 * is cancelled) as soon as the cap is passed, so a huge or endless body costs at most `max`
 * bytes of memory. A declared Content-Length above the cap is refused without reading.
 */

/**
 * The body's bytes, or null when it is larger than `max`. `onChunk` sees every chunk as it arrives
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
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    onChunk?.(value);
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
