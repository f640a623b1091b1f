import { assertEquals, assertStringIncludes } from "../assert.ts";
import { PROVIDERS } from "../../lib/providers/records.ts";
import { resolveProvider, resolveWith } from "../../lib/providers/resolve.ts";
import { isLoopbackUrl, normalizeBaseUrl } from "../../lib/providers/url.ts";
import { settingsWith } from "./support.ts";

const FORMS = [
  "localhost:1234",
  "http://localhost:1234",
  "http://localhost:1234/",
  "http://localhost:1234/v1",
  "http://localhost:1234/v1/",
  "  http://localhost:1234/v1//  ",
  "HTTP://LOCALHOST:1234/V1",
];

Deno.test("every URL form users type normalises to one base, and /v1 is added exactly once", () => {
  for (const form of FORMS) {
    const r = normalizeBaseUrl(form);
    assertEquals(r, { ok: true, base: "http://localhost:1234" }, form);
    const p = resolveWith(PROVIDERS.lmstudio, form, "");
    assertEquals(p.apiBase, "http://localhost:1234/v1", form);
  }
});

Deno.test("a reverse-proxy prefix is kept and https stays https", () => {
  assertEquals(normalizeBaseUrl("https://gpu.example.com/lmstudio/v1/"), {
    ok: true,
    base: "https://gpu.example.com/lmstudio",
  });
  assertEquals(normalizeBaseUrl("host.docker.internal:1234"), {
    ok: true,
    base: "http://host.docker.internal:1234",
  });
});

Deno.test("URLs that cannot work are refused with a message saying what to fix", () => {
  const cases: [string, string][] = [
    ["ftp://localhost:1234", "Only http:// and https://"],
    ["http://user:pw@localhost:1234", "user name and password"],
    ["http://local host:1234", "spaces"],
    ["", "Enter a server URL"],
    ["http://localhost:1234/?x=1", "query string"],
  ];
  for (const [input, msg] of cases) {
    const r = normalizeBaseUrl(input);
    assertEquals(r.ok, false, input);
    if (!r.ok) assertStringIncludes(r.message, msg);
  }
});

Deno.test("loopback detection covers localhost, 127/8, ::1 and 0.0.0.0 but not LAN hosts", () => {
  for (
    const u of [
      "http://localhost:1234",
      "http://127.0.0.2:1",
      "http://[::1]:1234",
      "http://0.0.0.0:1",
    ]
  ) {
    assertEquals(isLoopbackUrl(u), true, u);
  }
  for (const u of ["http://host.docker.internal:1234", "http://192.168.1.5:1234"]) {
    assertEquals(isLoopbackUrl(u), false, u);
  }
});

Deno.test("resolveProvider reads URL and key from settings; LM Studio without a key sends the placeholder", () => {
  const s = settingsWith({ "llm.lmstudio.url": "http://127.0.0.1:9999" });
  const lm = resolveProvider(s);
  assertEquals(lm.record.id, "lmstudio");
  assertEquals(lm.baseUrl, "http://127.0.0.1:9999");
  assertEquals(lm.apiKey, "not-required");
  assertEquals(lm.keySet, false);
  const withKey = resolveProvider(settingsWith({ "llm.lmstudio.api_key": "sk-lm-abc:def" }));
  assertEquals(withKey.apiKey, "sk-lm-abc:def");
  assertEquals(withKey.keySet, true);
  const llama = resolveProvider(s, "llamacpp");
  assertEquals(llama.apiKey, null);
  assertEquals(llama.apiBase, "http://localhost:8080/v1");
  const openai = resolveProvider(s, "openai");
  assertEquals(openai.apiBase, "https://api.openai.com/v1");
  assertEquals(resolveProvider(s, "openai_endpoint").baseUrl, "");
});
