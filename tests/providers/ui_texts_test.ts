/**
 * The family texts the Status checklist and the status line show come from the adapters
 * (`hints.ui`, lib/providers/ui_text.ts) through the provider summary: LM Studio gets its own
 * words, every other family the generic ones naming the server; no page branches on an id.
 */
import { assert, assertEquals } from "../assert.ts";
import { testApp } from "../helpers.ts";
import type { ProviderSummary } from "../../lib/providers/service.ts";
import type { ProviderStatus } from "../../lib/providers/types.ts";
import { fillText, GENERIC_UI } from "../../lib/providers/ui_text.ts";
import { checklist, type StatusRow } from "../../routes/components/StatusPage.tsx";
import { statusLine } from "../../islands/llm_status.ts";

async function summaries(): Promise<Record<string, ProviderSummary>> {
  const t = await testApp({
    env: {
      LDR_LLM_LMSTUDIO_URL: "http://127.0.0.1:1234",
      LDR_LLM_LLAMACPP_URL: "http://127.0.0.1:8080",
    },
  });
  try {
    const res = await t.app.request("/api/providers");
    assertEquals(res.status, 200);
    const { providers } = await res.json() as { providers: ProviderSummary[] };
    return Object.fromEntries(providers.map((p) => [p.id, p]));
  } finally {
    t.close();
  }
}

/** A Status page row built the way routes/pages.tsx builds it from the summary. */
function row(p: ProviderSummary, state: ProviderStatus["state"]): StatusRow {
  return {
    id: p.id,
    name: p.displayName,
    local: p.local,
    selected: p.selected,
    urlSetting: p.urlSetting,
    keySetting: p.apiKeySetting,
    defaultUrl: "",
    ui: p.ui,
    status: {
      id: p.id,
      state,
      server: null,
      latencyMs: 3,
      modelCount: null,
      baseUrl: p.baseUrl,
      hint: "",
    },
    models: null,
  };
}

Deno.test("the provider summary carries each adapter's UI texts and JIT flag", async () => {
  const all = await summaries();
  assertEquals(all.lmstudio.can.jit, true);
  assertEquals(all.lmstudio.ui.checklist.start.code, "lms server start");
  for (const id of ["llamacpp", "ollama", "openai_endpoint", "openai"]) {
    assertEquals(all[id].can.jit, false, id);
    assertEquals(all[id].ui, GENERIC_UI, id);
  }
});

Deno.test("Status checklist: llama.cpp gets the generic texts, LM Studio its own", async () => {
  const all = await summaries();
  const llama = checklist(row(all.llamacpp, "unreachable"));
  assertEquals(llama[0], {
    text: "Start llama.cpp server and make sure it listens on http://127.0.0.1:8080.",
  });
  assertEquals(
    llama[1].text,
    "Check the port: the server must listen on 8080. Change it on the Settings page or with LDR_LLM_LLAMACPP_URL.",
  );
  const lm = checklist(row(all.lmstudio, "unreachable"));
  assertEquals(lm[0].code, "lms server start");
  assertEquals(
    lm[1].text,
    'Check the port: the server must listen on 1234 (LM Studio shows "Reachable at http://127.0.0.1:1234" in the Developer tab). Change it on the Settings page or with LDR_LLM_LMSTUDIO_URL.',
  );
  assertEquals(checklist(row(all.llamacpp, "auth_required"))[0], {
    text:
      "llama.cpp server refused the request without a valid key. Set it on the Settings page or with:",
    code: "LDR_LLM_LLAMACPP_API_KEY=<key>",
  });
  assertEquals(
    checklist(row(all.lmstudio, "auth_required"))[0].code,
    "LDR_LLM_LMSTUDIO_API_KEY=<token>",
  );
  assertEquals(checklist(row(all.ollama, "no_models"))[0], {
    text: "Ollama is running but lists no models. Load or pull one first.",
  });
  assertEquals(checklist(row(all.lmstudio, "no_models"))[0].code, "lms load <model-key>");
});

Deno.test("status line: llama.cpp gets the generic texts, LM Studio its own", async () => {
  const all = await summaries();
  const subject = (p: ProviderSummary) => ({
    name: p.displayName,
    ui: p.ui.line,
    keyLabel: `${p.displayName} API key`,
    keySet: false,
  });
  const line = (p: ProviderSummary, state: ProviderStatus["state"]) =>
    statusLine(subject(p), row(p, state).status, null)[1];
  assertEquals(
    line(all.llamacpp, "unreachable"),
    "Not reachable at http://127.0.0.1:8080 — start llama.cpp server or check the URL and port",
  );
  assertEquals(
    line(all.lmstudio, "unreachable"),
    "Not reachable at http://127.0.0.1:1234 — start the server in LM Studio's Developer tab",
  );
  assertEquals(
    line(all.llamacpp, "no_models"),
    "llama.cpp server is running but has no chat models — load or pull one",
  );
  assertEquals(
    line(all.lmstudio, "auth_required"),
    "LM Studio at http://127.0.0.1:1234 needs a token — create one (LM Studio: Developer → Server Settings → Manage Tokens) and enter it as “LM Studio API key” below",
  );
  const models = [
    { id: "a", type: "llm", state: "loaded" },
    { id: "b", type: "llm", state: "not-loaded" },
  ] as Parameters<typeof statusLine>[2];
  const available = (p: ProviderSummary) =>
    statusLine(subject(p), row(p, "available").status, models)[1];
  assertEquals(
    available(all.lmstudio),
    "LM Studio is running · 2 chat models: 1 loaded, 1 available (JIT: loaded on first use)",
  );
  assertEquals(
    available(all.llamacpp),
    "llama.cpp server is running · 2 chat models: 1 loaded, 1 available",
  );
});

Deno.test("fillText fills each slot once and never re-reads a filled value", () => {
  assertEquals(
    fillText("Start {name} at {url} ({port})", { name: "X", url: "http://h/{name}", port: "" }),
    "Start X at http://h/{name} ()",
  );
  assertEquals(fillText("{env}=<key> {other}", {}), "{env}=<key> {other}");
});

Deno.test("no page or island branches on a provider id or family name", async () => {
  const branch =
    /\b(?:\w+\.)?(?:id|pid|family|server)\s*[!=]==?\s*["'](?:lmstudio|llamacpp|ollama|openai_endpoint|openai|openai-compatible)["']/;
  const offenders: string[] = [];
  async function scan(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await scan(path);
      else if (/\.tsx?$/.test(e.name)) {
        (await Deno.readTextFile(path)).split("\n").forEach((l, n) => {
          if (branch.test(l)) offenders.push(`${path}:${n + 1}: ${l.trim()}`);
        });
      }
    }
  }
  const root = new URL("../../", import.meta.url).pathname;
  await scan(`${root}routes`);
  await scan(`${root}islands`);
  assert(offenders.length === 0, `provider-id branches:\n${offenders.join("\n")}`);
});
