import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import {
  defaultSettings,
  envName,
  isSettingKey,
  parseSetting,
  SETTING_KEYS,
  SETTINGS,
} from "../../lib/settings/schema.ts";

Deno.test("every documented setting key exists with its documented default", () => {
  const d = defaultSettings();
  assertEquals(d["llm.provider"], "lmstudio");
  assertEquals(d["llm.model"], "");
  assertEquals(d["llm.temperature"], 0.7);
  assertEquals(d["llm.max_tokens"], 30000);
  assertEquals(d["llm.local_context_window_size"], 4096);
  assertEquals(d["llm.context_window_unrestricted"], true);
  assertEquals(d["llm.context_window_size"], 128000);
  assertEquals(d["llm.supports_max_tokens"], true);
  assertEquals(d["llm.streaming"], true);
  assertEquals(d["llm.top_k"], null);
  assertEquals(d["llm.repetition_penalty"], null);
  assertEquals(d["llm.request_timeout"], 120);
  assertEquals(d["llm.lmstudio.url"], "http://localhost:1234");
  assertEquals(d["llm.lmstudio.api_key"], "");
  assertEquals(d["llm.llamacpp.url"], "http://localhost:8080");
  assertEquals(d["llm.ollama.url"], "http://localhost:11434");
  assertEquals(d["llm.openai_endpoint.url"], "");
  assertEquals(d["llm.openai.api_key"], "");
  assertEquals(d["app.max_concurrent_researches"], 3);
  assertEquals(d["app.max_queued_researches"], 100);
  assertEquals(d["llm.lmstudio.native_chat"], true);
  assertEquals(SETTING_KEYS.length, 36);
});

Deno.test("every default validates against its own schema", () => {
  for (const key of SETTING_KEYS) {
    const r = parseSetting(key, SETTINGS[key].default);
    assert(r.ok, `${key}: ${!r.ok && r.message}`);
  }
});

Deno.test("env names follow LDR_ + upper-cased key with dots as underscores", () => {
  assertEquals(envName("llm.lmstudio.url"), "LDR_LLM_LMSTUDIO_URL");
  assertEquals(envName("app.max_concurrent_researches"), "LDR_APP_MAX_CONCURRENT_RESEARCHES");
  assertEquals(envName("llm.openai_endpoint.api_key"), "LDR_LLM_OPENAI_ENDPOINT_API_KEY");
});

Deno.test("ranges are enforced with messages that name the bound", () => {
  const hot = parseSetting("llm.temperature", 2.5);
  assert(!hot.ok);
  assertStringIncludes(hot.message, "at most 2");
  assert(parseSetting("llm.temperature", 0).ok);
  assert(parseSetting("llm.temperature", 2).ok);
  assert(!parseSetting("llm.max_tokens", 0).ok);
  assert(!parseSetting("llm.max_tokens", 1.5).ok);
  assert(!parseSetting("llm.max_tokens", 1_000_001).ok);
  assert(!parseSetting("llm.local_context_window_size", 511).ok);
  assert(parseSetting("llm.local_context_window_size", 1_048_576).ok);
  assert(!parseSetting("llm.provider", "gpt").ok);
  assert(!parseSetting("llm.streaming", "yes").ok);
  assert(parseSetting("llm.top_k", null).ok);
  assert(!parseSetting("llm.temperature", "0.5").ok, "strings are not numbers");
});

Deno.test("URL settings are stored in canonical form", () => {
  for (
    const typed of [
      "localhost:1234",
      "http://localhost:1234/",
      "http://localhost:1234/v1",
      " http://localhost:1234/v1/ ",
    ]
  ) {
    const r = parseSetting("llm.lmstudio.url", typed);
    assert(r.ok, typed);
    assertEquals(r.value, "http://localhost:1234");
  }
  const bad = parseSetting("llm.lmstudio.url", "ftp://localhost:1234");
  assert(!bad.ok);
  assertStringIncludes(bad.message, "http");
  assert(!parseSetting("llm.lmstudio.url", "").ok, "LM Studio needs a URL");
  const emptyEndpoint = parseSetting("llm.openai_endpoint.url", "");
  assert(emptyEndpoint.ok && emptyEndpoint.value === "", "the generic endpoint may be unset");
});

Deno.test("isSettingKey rejects prototype names and unknown keys", () => {
  assert(isSettingKey("llm.model"));
  assert(!isSettingKey("__proto__"));
  assert(!isSettingKey("constructor"));
  assert(!isSettingKey("llm.unknown"));
});

Deno.test("secrets are exactly the API keys", () => {
  const secrets = SETTING_KEYS.filter((k) => (SETTINGS[k] as { secret?: boolean }).secret);
  assertEquals(secrets.sort(), [
    "llm.llamacpp.api_key",
    "llm.lmstudio.api_key",
    "llm.ollama.api_key",
    "llm.openai.api_key",
    "llm.openai_endpoint.api_key",
  ]);
});
