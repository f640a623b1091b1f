import { assertEquals, assertStringIncludes } from "../assert.ts";
import { readEnvOverrides } from "../../lib/settings/env.ts";

Deno.test("env values are coerced to the setting's type and normalised", () => {
  const o = readEnvOverrides({
    LDR_LLM_LMSTUDIO_URL: "host.docker.internal:1234/v1/",
    LDR_LLM_TEMPERATURE: "0.2",
    LDR_LLM_STREAMING: "false",
    LDR_LLM_SUPPORTS_MAX_TOKENS: "0",
    LDR_LLM_TOP_K: "40",
    LDR_APP_MAX_CONCURRENT_RESEARCHES: "5",
    UNRELATED: "x",
  });
  assertEquals(o.errors, []);
  assertEquals(o.values, {
    "llm.lmstudio.url": "http://host.docker.internal:1234",
    "llm.temperature": 0.2,
    "llm.streaming": false,
    "llm.supports_max_tokens": false,
    "llm.top_k": 40,
    "app.max_concurrent_researches": 5,
  });
});

Deno.test("an empty env value is ignored with a warning naming the variable", () => {
  const o = readEnvOverrides({ LDR_LLM_MODEL: "", LDR_LLM_LMSTUDIO_URL: "  " });
  assertEquals(o.values, {});
  assertEquals(o.warnings.length, 2);
  assertStringIncludes(o.warnings.join("\n"), "LDR_LLM_MODEL is set but empty");
});

Deno.test("an invalid env value is an error naming the variable, the value and the fix", () => {
  const o = readEnvOverrides({ LDR_LLM_TEMPERATURE: "hot", LDR_LLM_PROVIDER: "gpt" });
  assertEquals(o.errors.length, 2);
  assertStringIncludes(o.errors.join("\n"), 'LDR_LLM_TEMPERATURE="hot" is invalid');
  assertStringIncludes(o.errors.join("\n"), "LDR_LLM_PROVIDER");
});

Deno.test("an invalid secret in env is reported without echoing it", () => {
  const o = readEnvOverrides({ LDR_LLM_OPENAI_API_KEY: "sk-secret\nsecond-line" });
  assertEquals(o.errors.length, 1);
  assertEquals(o.errors[0].includes("sk-secret"), false);
  assertStringIncludes(o.errors[0], "(hidden)");
});
