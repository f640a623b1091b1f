/**
 * Providers as data: one record per configurable provider (display name, settings keys, default
 * URL, key rules) pointing at its family's adapter, which holds the behaviour. Adding a provider
 * is one record here plus, for a new family, one adapter file.
 */
import { llamaCppAdapter } from "./llamacpp.ts";
import { lmStudioAdapter } from "./lmstudio.ts";
import { PROVIDER_NAMES } from "./names.ts";
import { ollamaAdapter } from "./ollama.ts";
import { openAiCompatibleAdapter } from "./openai_compatible.ts";
import type { ProviderAdapter } from "./adapter.ts";
import type { ProviderId, ProviderRecord } from "./types.ts";

/** Every provider deepstudio can talk to, keyed by id (order = `PROVIDER_IDS`). */
export const PROVIDERS: Record<ProviderId, ProviderRecord> = {
  lmstudio: {
    id: "lmstudio",
    adapter: lmStudioAdapter,
    displayName: PROVIDER_NAMES.lmstudio.name,
    urlSetting: "llm.lmstudio.url",
    apiKeySetting: "llm.lmstudio.api_key",
    defaultUrl: "http://localhost:1234",
    local: true,
    modelsNeedKey: false,
    // LM Studio without "Require Authentication" accepts any key; the SDK insists on one.
    placeholderKey: "not-required",
  },
  llamacpp: {
    id: "llamacpp",
    adapter: llamaCppAdapter,
    displayName: PROVIDER_NAMES.llamacpp.name,
    urlSetting: "llm.llamacpp.url",
    apiKeySetting: "llm.llamacpp.api_key",
    defaultUrl: "http://localhost:8080",
    local: true,
    modelsNeedKey: false,
    placeholderKey: null,
  },
  ollama: {
    id: "ollama",
    adapter: ollamaAdapter,
    displayName: PROVIDER_NAMES.ollama.name,
    urlSetting: "llm.ollama.url",
    apiKeySetting: "llm.ollama.api_key",
    defaultUrl: "http://localhost:11434",
    local: true,
    modelsNeedKey: false,
    placeholderKey: null,
  },
  openai_endpoint: {
    id: "openai_endpoint",
    adapter: openAiCompatibleAdapter,
    displayName: PROVIDER_NAMES.openai_endpoint.name,
    urlSetting: "llm.openai_endpoint.url",
    apiKeySetting: "llm.openai_endpoint.api_key",
    defaultUrl: "",
    local: true,
    modelsNeedKey: false,
    placeholderKey: null,
  },
  openai: {
    id: "openai",
    adapter: openAiCompatibleAdapter,
    displayName: PROVIDER_NAMES.openai.name,
    urlSetting: null,
    apiKeySetting: "llm.openai.api_key",
    defaultUrl: "https://api.openai.com",
    local: false,
    modelsNeedKey: true,
    placeholderKey: null,
  },
};

/** True for a known provider id; narrows strings from requests. */
export function isProviderId(id: string): id is ProviderId {
  return Object.hasOwn(PROVIDERS, id);
}

/** Every server family, in the order the status probe tries to recognise a server. */
export const FAMILIES = [lmStudioAdapter, llamaCppAdapter, ollamaAdapter, openAiCompatibleAdapter];

/**
 * The adapter of the server actually answering: the family a model list identified (an
 * "OpenAI-compatible endpoint" may well be llama-server), else the configured provider's.
 */
export function servingAdapter(record: ProviderRecord, source?: string | null): ProviderAdapter {
  return FAMILIES.find((f) => f.family === source) ?? record.adapter;
}
