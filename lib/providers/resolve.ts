/**
 * From settings to a provider ready to call: canonical base URL (docs/providers.md, "Server URLs"),
 * `/v1` root, and the key to send. `resolveWith` does the same for unsaved values (the settings
 * form's "Test connection").
 */
import type { Settings } from "../settings/schema.ts";
import { PROVIDERS } from "./records.ts";
import type { ProviderId, ProviderRecord, ResolvedProvider } from "./types.ts";
import { normalizeBaseUrl, openAiBase } from "./url.ts";

/** The provider `id` (default: the selected `llm.provider`) with its current URL and key. */
export function resolveProvider(settings: Settings, id?: ProviderId): ResolvedProvider {
  const record = PROVIDERS[id ?? settings["llm.provider"]];
  const url = record.urlSetting
    ? String(settings[record.urlSetting as keyof Settings] ?? "")
    : record.defaultUrl;
  const key = String(settings[record.apiKeySetting as keyof Settings] ?? "");
  return resolveWith(record, url, key);
}

/**
 * A provider over explicit (possibly unsaved, possibly untidy) values. An unusable URL gives
 * `baseUrl: ""`; callers report that as "not configured" rather than calling anything.
 */
export function resolveWith(record: ProviderRecord, url: string, apiKey: string): ResolvedProvider {
  const raw = record.urlSetting ? url : record.defaultUrl;
  const normalized = raw.trim() === "" ? null : normalizeBaseUrl(raw);
  const baseUrl = normalized?.ok ? normalized.base : "";
  const keySet = apiKey.trim() !== "";
  return {
    record,
    baseUrl,
    apiBase: baseUrl ? openAiBase(baseUrl) : "",
    apiKey: keySet ? apiKey.trim() : record.placeholderKey,
    keySet,
  };
}

/** Authorization header for non-SDK calls (status probe, native model lists). */
export function authHeaders(provider: ResolvedProvider): Record<string, string> {
  return provider.apiKey ? { authorization: `Bearer ${provider.apiKey}` } : {};
}

/**
 * The key to send to `url` when the caller gave none: the saved key, but only when `url` is the
 * saved URL. Anyone who can call the API could otherwise point a connection test (or any call
 * taking a URL) at a listener of their own and read the saved key from its Authorization header.
 */
export function savedKeyFor(saved: ResolvedProvider, url: string): string {
  if (!saved.keySet || !saved.baseUrl) return "";
  const target = resolveWith(saved.record, url, "").baseUrl;
  return target === saved.baseUrl ? saved.apiKey ?? "" : "";
}
