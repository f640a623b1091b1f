/**
 * Which chat route an LM Studio completion takes. LM Studio 0.4+ (its model list came from
 * `/api/v1/models`) streams through the native `/api/v1/chat`, which reports model loading and
 * prompt processing; anything it cannot express natively (assistant turns, non-streamed answers),
 * older servers, and a server whose native route turned out missing use `/v1/chat/completions`.
 * A missing route is remembered per server for a few minutes so later calls go straight to `/v1`.
 * docs/lmstudio_native_api.md has the wire facts.
 */
import { nativeBody, streamNativeChat } from "./lmstudio_chat.ts";
import { listModels } from "./models.ts";
import { type ChatStream, prepareChat, streamChat } from "./stream.ts";

/** How long "this server has no /api/v1/chat" is believed. */
export const MISSING_ROUTE_TTL_MS = 5 * 60_000;

const missing = new Map<string, number>();

/** Forgets what was learned about native routes (tests; a settings change of the URL). */
export function forgetNativeRoutes(): void {
  missing.clear();
}

/** True when `baseUrl` answered `/api/v1/chat` as missing within the TTL. */
export function nativeRouteMissing(baseUrl: string, now: number): boolean {
  const at = missing.get(baseUrl);
  if (at === undefined) return false;
  if (now - at <= MISSING_ROUTE_TTL_MS) return true;
  missing.delete(baseUrl);
  return false;
}

/**
 * A completion on LM Studio (the adapter's `streamChat` slot): native stream when it can, `/v1`
 * otherwise; the same event contract as `streamChat` either way.
 */
export const streamLmStudioChat: ChatStream = async function* (deps, provider, req, signal) {
  const s = deps.settings;
  const streaming = req.stream ?? s["llm.streaming"];
  const useNative = provider.baseUrl !== "" && streaming &&
    s["llm.lmstudio.native_chat"] && !nativeRouteMissing(provider.baseUrl, performance.now());
  if (useNative && !signal.aborted) {
    let body = null;
    try {
      const list = await listModels(deps, provider, { signal, timeoutMs: 5000 });
      if (list.source === "lmstudio-v1") {
        body = nativeBody((await prepareChat(deps, provider, req, signal)).body);
      }
    } catch { /* streamChat below reports the same failure as a typed error */ }
    if (body) {
      const outcome = yield* streamNativeChat(
        {
          fetch: deps.fetch,
          now: deps.now,
          inContainer: deps.inContainer,
          timeoutSeconds: s["llm.request_timeout"],
          waitingIntervalMs: deps.waitingIntervalMs,
        },
        provider,
        body,
        signal,
      );
      if (outcome === "done") return;
      missing.set(provider.baseUrl, performance.now());
    }
  }
  yield* streamChat(deps, provider, req, signal);
};
