/**
 * `/api/openapi.json` is generated from the mounted routes and the zod schemas: it must parse,
 * describe every API route the app serves (and nothing it doesn't), and carry the settings schema.
 */
import { z } from "zod";
import { openApiPath } from "../../lib/openapi.ts";
import { ResearchRequestSchema } from "../../lib/research/schema.ts";
import { envName, PROVIDER_IDS, SETTING_KEYS } from "../../lib/settings/schema.ts";
import { VERSION } from "../../lib/version.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { testApp } from "../helpers.ts";

type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

async function fetchDoc() {
  const t = await testApp();
  try {
    const res = await t.app.request("/api/openapi.json");
    assertEquals(res.status, 200);
    assertStringIncludes(res.headers.get("content-type") ?? "", "application/json");
    const doc = JSON.parse(await res.text()) as Doc;
    return { doc, routes: t.app.routes.map((r) => ({ method: r.method, path: r.path })) };
  } finally {
    t.close();
  }
}

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

Deno.test("the OpenAPI document is JSON, OpenAPI 3.1, versioned like the app", async () => {
  const { doc } = await fetchDoc();
  assertEquals(doc.openapi, "3.1.0");
  assertEquals(doc.info.version, VERSION);
  for (const r of refs(doc)) {
    const name = r.replace("#/components/schemas/", "");
    assert(r.startsWith("#/components/schemas/") && doc.components.schemas[name], `${r} resolves`);
  }
});

Deno.test("the OpenAPI document lists every /api and /v1 route the app serves, and no other", async () => {
  const { doc, routes } = await fetchDoc();
  const served = new Set(
    routes.filter((r) => r.method !== "ALL" && /^\/(api|v1)(\/|$)/.test(r.path)).map((r) =>
      `${r.method.toLowerCase()} ${openApiPath(r.path)}`
    ),
  );
  for (const want of ["get /api/health", "patch /api/settings", "post /api/research"]) {
    assert(served.has(want), `the app serves ${want}`);
  }
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)),
  );
  assertEquals([...documented].sort(), [...served].sort());
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const op of Object.values(ops)) {
      const params = ((op.parameters ?? []) as { name: string; in: string }[])
        .filter((p) => p.in === "path").map((p) => p.name);
      assertEquals(params, [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]), path);
    }
  }
});

Deno.test("the OpenAPI document carries the settings schema from SETTINGS and the research body", async () => {
  const { doc } = await fetchDoc();
  const settings = doc.components.schemas.Settings as {
    properties: Record<string, Record<string, unknown>>;
  };
  assertEquals(Object.keys(settings.properties), SETTING_KEYS);
  for (const key of SETTING_KEYS) assertEquals(settings.properties[key]["x-env"], envName(key));
  assertEquals(settings.properties["llm.provider"].enum, [...PROVIDER_IDS]);
  assertEquals(settings.properties["llm.temperature"].minimum, 0);
  assertEquals(settings.properties["llm.temperature"].maximum, 2);
  assertEquals(settings.properties["llm.max_tokens"].type, "integer");
  assertEquals(settings.properties["llm.top_k"].default, null);
  assertEquals(settings.properties["llm.lmstudio.api_key"].writeOnly, true);
  const patch = doc.paths["/api/settings"].patch.requestBody as Record<string, unknown>;
  assertEquals(
    JSON.stringify(patch),
    JSON.stringify({
      required: true,
      content: { "application/json": { schema: { $ref: "#/components/schemas/SettingsPatch" } } },
    }),
  );
  const { $schema: _s, ...research } = z.toJSONSchema(ResearchRequestSchema, { io: "input" });
  assertEquals(doc.components.schemas.ResearchRequest, research);
  const del = doc.paths["/api/settings/{key}"].delete.parameters as { schema: unknown }[];
  assertEquals(del[0].schema, { $ref: "#/components/schemas/SettingKey" });
  assertEquals(doc.components.schemas.SettingKey.enum, SETTING_KEYS);
});
