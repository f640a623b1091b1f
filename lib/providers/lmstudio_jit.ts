/**
 * Is LM Studio's just-in-time loading on? LM Studio does not say so directly, but its `/v1/models`
 * lists every downloaded model with JIT on and only loaded ones with it off
 * (docs/lmstudio_native_api.md), so a chat model the native list shows as not loaded and `/v1`
 * does not list at all means JIT is off: a request for it would fail, it must be loaded first.
 */
import { getJson, type HttpDeps } from "./http.ts";
import type { ResolvedProvider } from "./types.ts";

/** True/false when `/v1/models` answers; null when it cannot tell (the caller lets the run try). */
export async function lmStudioServes(
  deps: HttpDeps,
  provider: ResolvedProvider,
  model: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<boolean | null> {
  try {
    const answer = await getJson(deps, provider, `${provider.apiBase}/models`, {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? 3000,
    });
    const data = (answer.json as { data?: unknown } | undefined)?.data;
    if (answer.status !== 200 || !Array.isArray(data)) return null;
    return data.some((m) => (m as { id?: unknown })?.id === model);
  } catch {
    return null;
  }
}
