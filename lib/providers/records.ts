/**
 * Providers as data (issue 3): one record per server family. Everything provider-specific that is
 * not wire behaviour lives here, so adding a provider is adding a record, not a class.
 */
import type { ProviderId, ProviderRecord } from "./types.ts";

/** Every provider deepstudio can talk to, keyed by id (order = `PROVIDER_IDS`). */
export const PROVIDERS: Record<ProviderId, ProviderRecord> = {
  lmstudio: {
    id: "lmstudio",
    displayName: "LM Studio",
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
    displayName: "llama.cpp server",
    urlSetting: "llm.llamacpp.url",
    apiKeySetting: "llm.llamacpp.api_key",
    defaultUrl: "http://localhost:8080",
    local: true,
    modelsNeedKey: false,
    placeholderKey: null,
  },
  ollama: {
    id: "ollama",
    displayName: "Ollama",
    urlSetting: "llm.ollama.url",
    apiKeySetting: "llm.ollama.api_key",
    defaultUrl: "http://localhost:11434",
    local: true,
    modelsNeedKey: false,
    placeholderKey: null,
  },
  openai_endpoint: {
    id: "openai_endpoint",
    displayName: "OpenAI-compatible endpoint",
    urlSetting: "llm.openai_endpoint.url",
    apiKeySetting: "llm.openai_endpoint.api_key",
    defaultUrl: "",
    local: true,
    modelsNeedKey: false,
    placeholderKey: null,
  },
  openai: {
    id: "openai",
    displayName: "OpenAI",
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
