/**
 * The single source of truth for settings (docs/providers.md, "Settings"). Defaults, types, env names, validation, the
 * settings form, the README's table and the OpenAPI document are all derived from `SETTINGS`, so
 * a key added here appears everywhere without a second edit.
 *
 * What a setting accepts is plain data (`SettingType`), not a zod schema: lib/settings/check.ts
 * validates with it, so start-up and every request validate settings without loading zod (zod/mini
 * and the schemas built from it were ~8 MB resident and ~48 ms of start-up CPU; what start-up
 * loads now: docs/decisions/memory-targets.md, "Start-up without zod"). lib/settings/zod_type.ts builds the
 * same rules as zod schemas for the OpenAPI document, and tests/settings/check_test.ts proves the
 * two give the same verdict, value and message for every key.
 */
import { PROVIDER_NAMES } from "../providers/names.ts";
import { checkSetting, type SettingType, type TypeOutput } from "./check.ts";

export type { SettingType, TypeOutput };

/** How the settings form renders a field. */
export type UiHint = "select" | "number" | "range" | "text" | "password" | "checkbox" | "url";

/** Settings groups, in the order the settings page shows them. */
export const GROUPS = {
  llm: "Language model",
  lmstudio: PROVIDER_NAMES.lmstudio.label,
  llamacpp: PROVIDER_NAMES.llamacpp.label,
  ollama: PROVIDER_NAMES.ollama.label,
  openai_endpoint: PROVIDER_NAMES.openai_endpoint.label,
  openai: PROVIDER_NAMES.openai.label,
  search: "Search and sources",
  app: "Application",
} as const;

/** A settings group id. */
export type Group = keyof typeof GROUPS;

/** One setting's definition: what it accepts plus what the UI and docs need to present it. */
export interface SettingDef<T extends SettingType = SettingType> {
  type: T;
  default: TypeOutput<T>;
  label: string;
  description: string;
  group: Group;
  ui: UiHint;
  secret?: boolean;
  /** For numbers: the range the form offers. */
  min?: number;
  max?: number;
  step?: number;
  /** For selects: the values with their labels. */
  options?: readonly { value: string; label: string }[];
}

function def<const T extends SettingType>(d: SettingDef<T>): SettingDef<T> {
  return d;
}

/** Provider ids in the order the UI lists them. */
export const PROVIDER_IDS = [
  "lmstudio",
  "llamacpp",
  "ollama",
  "openai_endpoint",
  "openai",
] as const;

/** A provider id. */
export type ProviderId = typeof PROVIDER_IDS[number];

function urlType(allowEmpty: boolean) {
  return { kind: "url", allowEmpty } as const;
}

const apiKey = { kind: "api_key" } as const;

function intRange(min: number, max: number) {
  return { kind: "int", min, max } as const;
}

const boolean = { kind: "boolean" } as const;

/** Every setting, keyed by the dotted names of the original app (kept for env compatibility). */
export const SETTINGS = {
  "llm.provider": def({
    type: { kind: "enum", values: PROVIDER_IDS },
    default: "lmstudio",
    label: "Provider",
    description:
      "Which server answers: LM Studio, llama.cpp, Ollama, any OpenAI-compatible endpoint, or OpenAI.",
    group: "llm",
    ui: "select",
    options: PROVIDER_IDS.map((value) => ({ value, label: PROVIDER_NAMES[value].label })),
  }),
  "llm.model": def({
    type: { kind: "string", maxLength: 512 },
    default: "",
    label: "Model",
    description: "Model id to use. Empty: the one loaded chat model when exactly one is loaded.",
    group: "llm",
    ui: "text",
  }),
  "llm.temperature": def({
    type: { kind: "number", min: 0, max: 2 },
    default: 0.7,
    label: "Temperature",
    description: "Randomness of the output: 0 is deterministic, 2 is very random.",
    group: "llm",
    ui: "range",
    min: 0,
    max: 2,
    step: 0.05,
  }),
  "llm.max_tokens": def({
    type: intRange(1, 1_000_000),
    default: 30000,
    label: "Max tokens",
    description: "Longest answer to ask for; capped at 80 % of the effective context window.",
    group: "llm",
    ui: "number",
    min: 1,
    max: 1_000_000,
  }),
  "llm.local_context_window_size": def({
    type: intRange(512, 1_048_576),
    default: 4096,
    label: "Local context window",
    description:
      "Context size assumed for local models when the server does not report the loaded one.",
    group: "llm",
    ui: "number",
    min: 512,
    max: 1_048_576,
  }),
  "llm.context_window_unrestricted": def({
    type: boolean,
    default: true,
    label: "Unrestricted cloud context",
    description: "Let cloud providers manage their own context limits.",
    group: "llm",
    ui: "checkbox",
  }),
  "llm.context_window_size": def({
    type: intRange(512, 10_000_000),
    default: 128000,
    label: "Cloud context window",
    description: "Context size for cloud providers when not unrestricted.",
    group: "llm",
    ui: "number",
    min: 512,
    max: 10_000_000,
  }),
  "llm.supports_max_tokens": def({
    type: boolean,
    default: true,
    label: "Send max_tokens",
    description: "Turn off for servers that reject the max_tokens parameter.",
    group: "llm",
    ui: "checkbox",
  }),
  "llm.streaming": def({
    type: boolean,
    default: true,
    label: "Streaming",
    description: "Stream answers token by token.",
    group: "llm",
    ui: "checkbox",
  }),
  "llm.top_k": def({
    type: { ...intRange(1, 1000), nullable: true },
    default: null,
    label: "Top-k",
    description: "Sample from the k most likely tokens. Empty: the server's default.",
    group: "llm",
    ui: "number",
    min: 1,
    max: 1000,
  }),
  "llm.repetition_penalty": def({
    type: { kind: "number", min: 0, max: 4, nullable: true },
    default: null,
    label: "Repetition penalty",
    description: "Sent as repeat_penalty (LM Studio / llama.cpp). Empty: the server's default.",
    group: "llm",
    ui: "number",
    min: 0,
    max: 4,
    step: 0.05,
  }),
  "llm.request_timeout": def({
    type: intRange(1, 3600),
    default: 120,
    label: "Request timeout (s)",
    description:
      "Longest wait for the next byte from the server, first token included. A stream that keeps producing is never cut.",
    group: "llm",
    ui: "number",
    min: 1,
    max: 3600,
  }),
  "llm.lmstudio.url": def({
    type: urlType(false),
    default: "http://localhost:1234",
    label: "LM Studio URL",
    description:
      "Where LM Studio's server listens (Developer tab). In Docker: http://host.docker.internal:1234.",
    group: "lmstudio",
    ui: "url",
  }),
  "llm.lmstudio.api_key": def({
    type: apiKey,
    default: "",
    label: "LM Studio API token",
    description:
      "Only when 'Require Authentication' is on (LM Studio 0.4+: Developer → Server Settings → Manage Tokens).",
    group: "lmstudio",
    ui: "password",
    secret: true,
  }),
  "llm.lmstudio.native_chat": def({
    type: boolean,
    default: true,
    label: "Use LM Studio's native chat API",
    description:
      "On LM Studio 0.4+, stream research answers through /api/v1/chat, which reports model loading and prompt processing progress; older versions use /v1 automatically.",
    group: "lmstudio",
    ui: "checkbox",
  }),
  "llm.llamacpp.url": def({
    type: urlType(false),
    default: "http://localhost:8080",
    label: "llama-server URL",
    description: "Where llama.cpp's llama-server listens.",
    group: "llamacpp",
    ui: "url",
  }),
  "llm.llamacpp.api_key": def({
    type: apiKey,
    default: "",
    label: "llama-server API key",
    description: "The --api-key the server was started with, if any.",
    group: "llamacpp",
    ui: "password",
    secret: true,
  }),
  "llm.ollama.url": def({
    type: urlType(false),
    default: "http://localhost:11434",
    label: "Ollama URL",
    description: "Where Ollama listens.",
    group: "ollama",
    ui: "url",
  }),
  "llm.ollama.api_key": def({
    type: apiKey,
    default: "",
    label: "Ollama API key",
    description: "Only for an Ollama behind an authenticating proxy.",
    group: "ollama",
    ui: "password",
    secret: true,
  }),
  "llm.openai_endpoint.url": def({
    type: urlType(true),
    default: "",
    label: "Endpoint URL",
    description: "Any OpenAI-compatible server (vLLM, LocalAI, a cloud gateway).",
    group: "openai_endpoint",
    ui: "url",
  }),
  "llm.openai_endpoint.api_key": def({
    type: apiKey,
    default: "",
    label: "Endpoint API key",
    description: "Leave empty for keyless local servers.",
    group: "openai_endpoint",
    ui: "password",
    secret: true,
  }),
  "llm.openai.api_key": def({
    type: apiKey,
    default: "",
    label: "OpenAI API key",
    description: "For https://api.openai.com. Sends your prompts to OpenAI.",
    group: "openai",
    ui: "password",
    secret: true,
  }),
  "search.engine": def({
    type: { kind: "enum", values: ["none", "searxng", "library", "wikipedia", "arxiv"] },
    default: "none",
    label: "Default source",
    description:
      "Where research looks by default: a SearXNG web search, your Library, or none (model knowledge only). A run can pick others.",
    group: "search",
    ui: "select",
    options: [
      { value: "none", label: "No sources (model knowledge)" },
      { value: "searxng", label: "Web (SearXNG)" },
      { value: "library", label: "Library" },
      { value: "wikipedia", label: "Wikipedia (sends queries to it)" },
      { value: "arxiv", label: "arXiv (sends queries to it)" },
    ],
  }),
  "search.arxiv.url": def({
    type: urlType(false),
    default: "http://export.arxiv.org",
    label: "arXiv API URL",
    description:
      "arXiv's query API host (its /api/query). Runs that pick arXiv send their search queries there.",
    group: "search",
    ui: "url",
  }),
  "search.wikipedia.url": def({
    type: urlType(false),
    default: "https://en.wikipedia.org",
    label: "Wikipedia URL",
    description:
      "The wiki the Wikipedia source searches (its API at /w/api.php), e.g. https://de.wikipedia.org. Runs that pick Wikipedia send their queries there.",
    group: "search",
    ui: "url",
  }),
  "search.library.collections": def({
    type: { kind: "string", maxLength: 4000 },
    default: "",
    label: "Default Library collections",
    description:
      "Collections the Library source searches by default: names or ids, comma-separated. Empty: all collections. A run can pick others.",
    group: "search",
    ui: "text",
  }),
  "search.searxng.url": def({
    type: urlType(false),
    default: "http://localhost:8080",
    label: "SearXNG URL",
    description:
      "Your SearXNG instance. Its settings.yml must list json under search.formats. In Docker: http://searxng:8080.",
    group: "search",
    ui: "url",
  }),
  "search.max_sources": def({
    type: intRange(1, 100),
    default: 10,
    label: "Sources per query",
    description: "How many search results each query keeps.",
    group: "search",
    ui: "number",
    min: 1,
    max: 100,
  }),
  "search.max_pages": def({
    type: intRange(0, 200),
    default: 12,
    label: "Pages read per run",
    description: "Most web pages one run fetches and reads; other results count by their snippet.",
    group: "search",
    ui: "number",
    min: 0,
    max: 200,
  }),
  "search.fetch_timeout": def({
    type: intRange(1, 300),
    default: 20,
    label: "Page timeout (s)",
    description: "Longest time to fetch one page, redirects included.",
    group: "search",
    ui: "number",
    min: 1,
    max: 300,
  }),
  "search.max_page_kib": def({
    type: intRange(16, 65536),
    default: 2048,
    label: "Page size cap (KiB)",
    description: "Pages larger than this are not read (the read stops at the cap).",
    group: "search",
    ui: "number",
    min: 16,
    max: 65536,
  }),
  "search.embedding_model": def({
    type: { kind: "string", maxLength: 512 },
    default: "",
    label: "Ranking embedding model",
    description:
      "Embedding model (on the run's provider) that ranks passages by meaning, e.g. text-embedding-nomic-embed-text-v1.5. Empty: keyword ranking.",
    group: "search",
    ui: "text",
  }),
  "search.allow_private_urls": def({
    type: boolean,
    default: false,
    label: "Fetch private addresses",
    description:
      "Let research read pages on this machine or your network (localhost, 192.168.x.x, …). Off: such links are skipped.",
    group: "search",
    ui: "checkbox",
  }),
  "search.model_fallback": def({
    type: boolean,
    default: false,
    label: "Fall back to model knowledge",
    description:
      "When every source fails, answer from the model alone (labelled 'no sources') instead of failing the run.",
    group: "search",
    ui: "checkbox",
  }),
  "app.max_concurrent_researches": def({
    type: intRange(1, 64),
    default: 3,
    label: "Concurrent research runs",
    description: "More runs wait in a queue and start in order.",
    group: "app",
    ui: "number",
    min: 1,
    max: 64,
  }),
  "app.max_queued_researches": def({
    type: intRange(1, 10_000),
    default: 100,
    label: "Queued research runs",
    description:
      "How many runs may wait for a free slot; beyond that a new run is refused (429) until some finish.",
    group: "app",
    ui: "number",
    min: 1,
    max: 10_000,
  }),
} as const;

/** A setting key. */
export type SettingKey = keyof typeof SETTINGS;

/** The fully resolved settings object, typed from the setting types. */
export type Settings = { [K in SettingKey]: TypeOutput<typeof SETTINGS[K]["type"]> };

/** All keys, in declaration order. */
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** True for a known key; narrows strings from requests. */
export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

/** `llm.lmstudio.url` → `LDR_LLM_LMSTUDIO_URL`, exactly as the original app's users write it. */
export function envName(key: SettingKey): string {
  return `LDR_${key.toUpperCase().replaceAll(".", "_")}`;
}

/** Defaults for every key. */
export function defaultSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) out[key] = SETTINGS[key].default;
  return out as Settings;
}

/**
 * Validates one value for one key; the message is ready to show next to the field. Plain code
 * (lib/settings/check.ts), so reading settings never loads zod.
 */
export function parseSetting<K extends SettingKey>(
  key: K,
  value: unknown,
): { ok: true; value: Settings[K] } | { ok: false; message: string } {
  return checkSetting(SETTINGS[key].type, value) as
    | { ok: true; value: Settings[K] }
    | { ok: false; message: string };
}
