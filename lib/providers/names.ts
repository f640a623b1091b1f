/**
 * What people read for each provider and server family, in one place: the provider records, the
 * settings groups and provider choices (lib/settings/schema.ts) and the Status page all use these.
 * Dependency-free so the settings schema can import it without the provider module.
 */

/** Provider ids → display name (messages) and settings label (where cloud must be explicit). */
export const PROVIDER_NAMES = {
  lmstudio: { name: "LM Studio", label: "LM Studio" },
  llamacpp: { name: "llama.cpp server", label: "llama.cpp server" },
  ollama: { name: "Ollama", label: "Ollama" },
  openai_endpoint: { name: "OpenAI-compatible endpoint", label: "OpenAI-compatible endpoint" },
  openai: { name: "OpenAI", label: "OpenAI (cloud)" },
} as const;

/** Server families (what the status probe recognises) → display name. */
export const FAMILY_NAMES: Record<string, string> = {
  lmstudio: "LM Studio",
  llamacpp: "llama.cpp server",
  ollama: "Ollama",
  "openai-compatible": "OpenAI-compatible",
};
