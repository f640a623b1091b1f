/**
 * Availability (docs/providers.md, "Availability"). A 200 proves nothing (LM Studio answers unknown routes with 200 and an
 * error body), so "available" needs a JSON body with a `data` array; the greeting identifies LM
 * Studio cheaply. Probes are bounded by 1 s, concurrent callers share one probe, and results are
 * cached ≤ 2 s under a fingerprint of URL and key, so a settings change is seen at once.
 */
import { dockerHint, errorFromHttp, notConfiguredError, toUpstreamError } from "./errors.ts";
import { getJson, type HttpDeps, isErrorBody } from "./http.ts";
import { openAiCompatibleAdapter } from "./openai_compatible.ts";
import { FAMILIES } from "./records.ts";
import type { ProviderState, ProviderStatus, ResolvedProvider, UpstreamError } from "./types.ts";
import { isLoopbackUrl } from "./url.ts";

/** The probe's time budget (the seed's figure). */
export const PROBE_TIMEOUT_MS = 1000;
/** How long a probe result is reused. */
export const STATUS_TTL_MS = 2000;

/** Probes one provider once (no cache). */
export async function probeStatus(
  deps: HttpDeps,
  provider: ResolvedProvider,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ProviderStatus> {
  const timeoutMs = opts.timeoutMs ?? PROBE_TIMEOUT_MS;
  const id = provider.record.id;
  const dockerLoopback = deps.inContainer && isLoopbackUrl(provider.baseUrl);
  const result = (
    state: ProviderState,
    latencyMs: number,
    fields: Partial<ProviderStatus> = {},
  ): ProviderStatus => {
    const out: ProviderStatus = {
      id,
      state,
      server: null,
      latencyMs: Math.round(latencyMs),
      modelCount: null,
      baseUrl: provider.baseUrl,
      hint: "",
      ...fields,
    };
    // The loopback hint only when nothing answered there: a 401, an empty list or a wrong path
    // prove that something listens on that address, container or not.
    const unreachable = (state === "unreachable" || state === "timeout") &&
      (!out.error || out.error.suggestedUrl !== undefined);
    if (dockerLoopback && unreachable) {
      out.dockerLoopback = true;
      const docker = dockerHint(provider.baseUrl, true, provider.record.id);
      if (!out.hint.includes(docker)) out.hint = out.hint ? `${out.hint} ${docker}` : docker;
    }
    return out;
  };
  if (!provider.baseUrl) {
    const error = notConfiguredError(provider);
    return result("unreachable", 0, { error, hint: error.hint });
  }
  const url = `${provider.apiBase}/models`;
  const started = deps.now();
  // A family's confirmation (LM Studio's greeting) runs beside the probe: a "llama.cpp" URL may
  // well point at LM Studio. Cloud providers are never asked.
  const confirming = provider.record.local ? FAMILIES.filter((f) => f.confirm) : [];
  const greeting = Promise.all(
    confirming.map((f) => f.confirm!(deps, provider, { timeoutMs, signal: opts.signal })),
  ).then((yes) => confirming.find((_, i) => yes[i]) ?? null);
  let answer;
  try {
    answer = await getJson(deps, provider, url, { timeoutMs, signal: opts.signal });
  } catch (e) {
    const error = toUpstreamError(e, provider, {
      url,
      inContainer: deps.inContainer,
      timeoutSeconds: timeoutMs / 1000,
    });
    const state: ProviderState = error.kind === "timeout" ? "timeout" : "unreachable";
    const lm = await greeting;
    return result(state, deps.now() - started, {
      server: lm ? lm.family : null,
      error,
      hint: error.hint,
    });
  }
  const latencyMs = answer.latencyMs;
  const lm = await greeting;
  const body = answer.json as { data?: unknown; models?: unknown } | undefined;
  const data = Array.isArray(body?.data) ? body.data as Record<string, unknown>[] : null;
  const server = lm ? lm.family : identify(data, body);
  // Hints in the words of the server actually found, else of the configured family.
  const family = FAMILIES.find((f) => f.family === server && f !== openAiCompatibleAdapter) ??
    provider.record.adapter;
  const fail = (state: ProviderState, error: UpstreamError, hint = error.hint) =>
    result(state, latencyMs, { server, error, hint });
  const httpError = () =>
    errorFromHttp(answer.status, answer.json ?? answer.text, answer.headers, provider, {
      url,
      inContainer: deps.inContainer,
    });
  if (answer.status === 401 || answer.status === 403) {
    return fail("auth_required", httpError());
  }
  if (answer.status === 200 && data && !isErrorBody(answer.json)) {
    if (data.length === 0) {
      return result("no_models", latencyMs, {
        server,
        modelCount: 0,
        hint: family.hints.noModels,
      });
    }
    return result("available", latencyMs, { server, modelCount: data.length });
  }
  if (answer.status >= 500) return fail("unreachable", httpError());
  // 200 with an error body, HTML, non-JSON, 404...: something answers, but not an OpenAI API here.
  const error = httpError();
  const hint = lm
    ? `LM Studio answers at ${
      new URL(provider.baseUrl).origin
    }, but not at ${url}: set the URL to ${
      new URL(provider.baseUrl).origin
    } (deepstudio adds /v1 itself).`
    : `Something answers at ${provider.baseUrl}, but not like an OpenAI-compatible server: check the URL (the base address only, e.g. ${
      provider.record.defaultUrl || "http://localhost:8000"
    }).`;
  return fail("wrong_path", error, hint);
}

function identify(
  data: Record<string, unknown>[] | null,
  body: { data?: unknown; models?: unknown } | undefined,
): string | null {
  if (!data || !body) return null;
  return FAMILIES.find((f) => f.recognizes?.(body))?.family ?? openAiCompatibleAdapter.family;
}

/** A probe with coalescing and a short cache; one per service. */
export interface StatusProber {
  (provider: ResolvedProvider, opts?: { fresh?: boolean }): Promise<ProviderStatus>;
  /** Drops every cached result. */
  clear(): void;
}

/**
 * Builds the cached, coalescing prober over `deps`. `onChange` hears of a provider whose state
 * differs from its last probe at the same URL and key (up, down, now wants another token): what
 * was cached from that server, such as its model list, no longer holds.
 */
export function createStatusProber(
  deps: HttpDeps,
  opts: {
    ttlMs?: number;
    timeoutMs?: number;
    onChange?: (provider: ResolvedProvider) => void;
  } = {},
): StatusProber {
  const ttl = opts.ttlMs ?? STATUS_TTL_MS;
  interface Entry {
    fingerprint: string;
    at: number;
    promise: Promise<ProviderStatus>;
    settled: boolean;
    /** The settled probe's state (before that: the previous probe's, same URL and key). */
    state?: string;
  }
  const entries = new Map<string, Entry>();
  const prober = ((provider: ResolvedProvider, call: { fresh?: boolean } = {}) => {
    const slot = `${provider.record.id}`;
    const fingerprint = `${provider.baseUrl}\n${provider.apiKey ?? ""}`;
    const now = deps.now();
    const hit = entries.get(slot);
    if (
      hit && hit.fingerprint === fingerprint &&
      (!hit.settled || (!call.fresh && now - hit.at <= ttl))
    ) {
      return hit.promise;
    }
    const before = hit?.fingerprint === fingerprint ? hit.state : undefined;
    const promise = probeStatus(deps, provider, { timeoutMs: opts.timeoutMs });
    const entry: Entry = { fingerprint, at: now, promise, settled: false, state: before };
    entries.set(slot, entry);
    promise.then(
      (status) => {
        entry.settled = true;
        entry.at = deps.now();
        entry.state = status.state;
        if (before !== undefined && before !== status.state) opts.onChange?.(provider);
      },
      () => {
        if (entries.get(slot) === entry) entries.delete(slot);
      },
    );
    return promise;
  }) as StatusProber;
  prober.clear = () => entries.clear();
  return prober;
}
