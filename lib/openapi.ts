/**
 * The OpenAPI 3.1 document served at `/api/openapi.json`. Paths come from the routes the app
 * really mounted (so a new route shows up without an edit here), request schemas from the same
 * zod schemas the routes validate with (`z.toJSONSchema(..., { io: "input" })`): the settings
 * from `SETTINGS` (each type as a zod schema: lib/settings/zod_type.ts), research from
 * lib/research/schema.ts. A route whose schema is private to its route file is listed with its path and parameters but no body schema, rather than a second,
 * drifting copy of it.
 */
import { z } from "zod";
import { ERROR_TITLES } from "./providers/errors.ts";
import { PROVIDER_STATES } from "./providers/types.ts";
import { LoadRequestSchema, UnloadRequestSchema } from "./providers/model_admin.ts";
import { ResumeRequestSchema } from "./research/resume.ts";
import { ResearchListQuerySchema, ResearchRequestSchema } from "./research/schema.ts";
import {
  AddDocumentJson,
  CreateCollection,
  PatchCollection,
  Reindex,
  SearchQuery,
} from "./library/schema.ts";
import { envName, GROUPS, PROVIDER_IDS, SETTING_KEYS, SETTINGS } from "./settings/schema.ts";
import { zodType } from "./settings/zod_type.ts";

/** A mounted route as the router lists it (Hono's `app.routes` has this shape). */
export interface RouteInfo {
  method: string;
  path: string;
}

type Json = Record<string, unknown>;

/** What is known about one operation beyond its path. */
interface OperationInfo {
  summary: string;
  tag: string;
  body?: Json;
  query?: z.ZodObject;
  /** Extra query parameters described by hand (string-valued flags read without a schema). */
  queryFlags?: { name: string; description: string; values: string[] }[];
  params?: Record<string, Json>;
  /** Success response: status → media type and schema. */
  ok?: { status: string; type: string; schema?: Json; description: string };
  /** Upstream (LLM server) failures come back as 502 with the typed error. */
  upstream?: boolean;
}

/** Only the API surfaces are documented: pages, static files and sign-in are for browsers. */
export function isApiPath(path: string): boolean {
  return path === "/api" || path.startsWith("/api/") || path === "/v1" || path.startsWith("/v1/");
}

function jsonSchema(schema: z.core.$ZodType): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: "input" }) as Json;
  return rest;
}

function ref(name: string): Json {
  return { $ref: `#/components/schemas/${name}` };
}

/** One property per setting: type and range from its zod schema, plus what the docs show. */
function settingsProperties(): Json {
  const props: Json = {};
  for (const key of SETTING_KEYS) {
    const def = SETTINGS[key];
    props[key] = {
      ...jsonSchema(zodType(def.type)),
      title: def.label,
      description: `${def.description} (env ${envName(key)}${
        "secret" in def && def.secret ? "; secret: write-only, never returned" : ""
      })`,
      default: def.default,
      "x-env": envName(key),
      "x-group": GROUPS[def.group],
      ...("secret" in def && def.secret ? { writeOnly: true } : {}),
    };
  }
  return props;
}

function components(): Json {
  return {
    schemas: {
      Settings: {
        type: "object",
        description:
          "Every setting with its type, range and default, from lib/settings/schema.ts. A variable named in x-env overrides and locks the key.",
        properties: settingsProperties(),
        additionalProperties: false,
      },
      SettingsPatch: {
        allOf: [ref("Settings")],
        description:
          "Any subset of the settings. All-or-nothing: one invalid or locked key and nothing is saved.",
        minProperties: 1,
      },
      SettingKey: { type: "string", enum: [...SETTING_KEYS] },
      ResearchRequest: jsonSchema(ResearchRequestSchema),
      Error: {
        type: "object",
        description: 'deepstudio\'s one error shape: {"error":{"kind","message",...}}.',
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["kind", "message"],
            properties: {
              kind: { type: "string" },
              message: { type: "string" },
              issues: {
                type: "array",
                items: {
                  type: "object",
                  properties: { key: { type: "string" }, message: { type: "string" } },
                },
              },
            },
            additionalProperties: true,
          },
        },
      },
      OpenAIError: {
        type: "object",
        description: "Errors under /v1 use OpenAI's shape, so OpenAI clients understand them.",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["message"],
            properties: {
              message: { type: "string" },
              type: { type: "string" },
              param: { type: ["string", "null"] },
              code: { type: ["string", "null"] },
            },
            additionalProperties: true,
          },
        },
      },
      UpstreamError: {
        type: "object",
        description: "A failure of the LLM server, typed: what happened, where, and the fix.",
        required: ["kind", "title", "message", "hint", "provider", "url"],
        properties: {
          kind: { type: "string", enum: Object.keys(ERROR_TITLES) },
          title: { type: "string", enum: Object.values(ERROR_TITLES) },
          message: { type: "string" },
          hint: { type: "string" },
          provider: { type: "string" },
          url: { type: "string" },
          status: { type: "integer" },
          retryAfter: { type: "number" },
          promptTokens: { type: "integer" },
          contextLength: { type: "integer" },
        },
      },
    },
    securitySchemes: {
      accessToken: {
        type: "http",
        scheme: "bearer",
        description:
          "The --access-token / DEEPSTUDIO_ACCESS_TOKEN, required when one is configured (always when listening beyond loopback). /api/health needs none.",
      },
    },
  };
}

const PROVIDER_ID = { type: "string", enum: [...PROVIDER_IDS] };

/**
 * What the route files do, keyed by `METHOD /path/{param}`. Built on the first request for the
 * document (its zod → JSON Schema conversions would otherwise run at every start-up).
 */
let operations: Record<string, OperationInfo> | undefined;
const OPERATIONS = (): Record<string, OperationInfo> => (operations ??= {
  "GET /api/health": {
    summary: "Liveness and version; used by the Docker health check",
    tag: "meta",
    ok: {
      status: "200",
      type: "application/json",
      description: "Serving",
      schema: {
        type: "object",
        properties: { status: { const: "ok" }, version: { type: "string" } },
      },
    },
  },
  "GET /api/openapi.json": {
    summary: "This document",
    tag: "meta",
    ok: { status: "200", type: "application/json", description: "OpenAPI 3.1" },
  },
  "GET /api/settings": {
    summary: "All settings with value, source (default, kv, env), lock state; secrets as {set}",
    tag: "settings",
  },
  "PATCH /api/settings": {
    summary: "Change settings, all or nothing (400 validation, 403 locked by env, 409 conflict)",
    tag: "settings",
    body: ref("SettingsPatch"),
  },
  "DELETE /api/settings/{key}": {
    summary: "Reset one setting to its default",
    tag: "settings",
    params: { key: ref("SettingKey") },
  },
  "GET /api/providers": {
    summary: "The providers with their URLs; with ?status=1 also their availability",
    tag: "providers",
    queryFlags: [{ name: "status", description: "Probe each provider", values: ["1", "true"] }],
  },
  "GET /api/providers/{id}/status": {
    summary: `Availability: ${PROVIDER_STATES.slice(0, -1).join(", ")} or ${
      PROVIDER_STATES.at(-1)
    }`,
    tag: "providers",
    params: { id: PROVIDER_ID },
    queryFlags: [{ name: "fresh", description: "Bypass the short cache", values: ["1"] }],
  },
  "POST /api/providers/{id}/test": {
    summary: "Test unsaved connection values ({url, apiKey}) without saving them",
    tag: "providers",
    params: { id: PROVIDER_ID },
  },
  "GET /api/providers/{id}/models": {
    summary: "Models with type, state and loaded / maximum context",
    tag: "providers",
    params: { id: PROVIDER_ID },
    queryFlags: [
      { name: "type", description: "chat: no embedding models", values: ["chat", "all"] },
      { name: "fresh", description: "Bypass the cache", values: ["1", "true", "0", "false"] },
    ],
    upstream: true,
  },
  "POST /api/providers/lmstudio/models/load": {
    summary:
      "Load (or reload) an LM Studio 0.4+ model with a context length, as SSE: start, progress (elapsed time) then done (the new model record) or error (typed). A second load of the same model joins the first; a disconnect does not cancel it. 400 with the bound for a bad contextLength or unknown model; 502 with needs: lmstudio-0.4 for older LM Studio",
    tag: "providers",
    body: jsonSchema(LoadRequestSchema),
    ok: { status: "200", type: "text/event-stream", description: "Load progress as SSE" },
    upstream: true,
  },
  "POST /api/providers/lmstudio/models/unload": {
    summary: "Unload one LM Studio model instance ({instanceId}); answers with the model's record",
    tag: "providers",
    body: jsonSchema(UnloadRequestSchema),
    upstream: true,
  },
  "POST /api/research": {
    summary: "Start a research run (202, Location: /api/research/{id})",
    tag: "research",
    body: ref("ResearchRequest"),
    ok: { status: "202", type: "application/json", description: "Queued or started" },
  },
  "POST /api/research/preflight": {
    summary:
      "Before starting: the context the run needs (estimate) against the model's loaded context; when it will not fit, the load/reload action (LM Studio 0.4+) or the by-hand hint",
    tag: "research",
    body: ref("ResearchRequest"),
  },
  "GET /api/research": {
    summary: "Past and current runs, newest first",
    tag: "research",
    query: ResearchListQuerySchema,
  },
  "GET /api/research/{id}": { summary: "One run with its text, events and usage", tag: "research" },
  "DELETE /api/research/{id}": { summary: "Delete a run", tag: "research" },
  "POST /api/research/{id}/cancel": {
    summary: "Stop a run, whichever deepstudio process on the same data file runs it",
    tag: "research",
  },
  "POST /api/research/{id}/resume": {
    summary:
      "Continue a failed, interrupted or cancelled run at the step it stopped in (202), keeping its text: finished steps are reused, the stopped step re-runs. With {reload: {model, contextLength}} LM Studio 0.4+ first loads the run's model with that context (the one-click fix a token_limit error's action offers). 409 for a run that is running or completed",
    tag: "research",
    body: jsonSchema(ResumeRequestSchema),
    ok: { status: "202", type: "application/json", description: "Queued again" },
  },
  "GET /api/research/{id}/events": {
    summary: "Follow a run as server-sent events; resumes after Last-Event-ID",
    tag: "research",
    ok: { status: "200", type: "text/event-stream", description: "SSE stream" },
  },
  "GET /api/research/{id}/export.md": {
    summary: "The report as Markdown",
    tag: "research",
    ok: { status: "200", type: "text/markdown", description: "Markdown file" },
  },
  "GET /api/research/{id}/sources": {
    summary: "A run's sources, its citation numbers and the cited passages",
    tag: "research",
  },
  "GET /api/research/{id}/export.json": {
    summary:
      "Question, report, sources and cited passages as one JSON file; noSources says why a run answered from model knowledge alone (null when it has sources)",
    tag: "research",
  },
  "GET /api/collections": {
    summary: "Library collections with model, state and document/chunk counts",
    tag: "library",
  },
  "POST /api/collections": {
    summary: "Create a collection bound to one embedding model (default LM Studio's nomic)",
    tag: "library",
    body: jsonSchema(CreateCollection),
    ok: { status: "201", type: "application/json", description: "The new collection" },
  },
  "GET /api/collections/{id}": { summary: "One collection with its counts", tag: "library" },
  "PATCH /api/collections/{id}": {
    summary: 'Rename; {"state":"indexing"} resumes a paused collection',
    tag: "library",
    body: jsonSchema(PatchCollection),
  },
  "DELETE /api/collections/{id}": { summary: "Delete a collection and its index", tag: "library" },
  "POST /api/collections/{id}/reindex": {
    summary:
      "Re-index (optionally with another provider/model) into a new index; the old one answers searches until it is complete",
    tag: "library",
    body: jsonSchema(Reindex),
    ok: { status: "202", type: "application/json", description: "Re-index started" },
  },
  "GET /api/collections/{id}/documents": {
    summary: "Documents with state (queued, indexing, indexed, failed), pages, chunks, error",
    tag: "library",
  },
  "POST /api/collections/{id}/documents": {
    summary:
      "Add documents: multipart upload (fields 'files', capped at 128 MiB, 50 MiB per file, deduplicated by hash), or JSON {path, include?, exclude?} under --library-roots (a folder is re-scanned by hash when posted again), or {url} through the SSRF-safe fetcher",
    tag: "library",
    body: jsonSchema(AddDocumentJson),
    ok: { status: "201", type: "application/json", description: "What was added" },
  },
  "DELETE /api/collections/{id}/documents/{docId}": {
    summary: "Remove a document and its chunks",
    tag: "library",
  },
  "GET /api/collections/{id}/events": {
    summary:
      "Indexing progress as SSE: snapshot, then progress (documents done/total, chunks embedded, chunks/s, ETA, current file), document and collection events",
    tag: "library",
    ok: { status: "200", type: "text/event-stream", description: "SSE stream" },
  },
  "GET /api/search": {
    summary:
      "Hybrid (vector + BM25, reciprocal rank fusion) search of the Library: results with collectionId, documentId, title, location {page, heading}, text, score, scores",
    tag: "library",
    query: SearchQuery,
  },
  "GET /api/search/status": {
    summary:
      "Each source engine's state (SearXNG probed with one JSON search; Library), with the hint when it fails",
    tag: "search",
  },
  "GET /v1/models": {
    summary: "OpenAI-compatible model list of the configured provider",
    tag: "openai-compatible",
    upstream: true,
  },
  "GET /v1/models/{id}": {
    summary: "One model of the configured provider, OpenAI-style",
    tag: "openai-compatible",
    upstream: true,
  },
  "POST /v1/chat/completions": {
    summary:
      "OpenAI-compatible chat completions (streaming or not) through the configured provider",
    tag: "openai-compatible",
    upstream: true,
  },
});

/** `/api/research/:id` → `/api/research/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\{[^}]*\})?/g, "{$1}");
}

function operation(method: string, path: string): Json {
  const key = `${method} ${path}`;
  const info: OperationInfo = OPERATIONS()[key] ??
    { summary: `${method} ${path} (no published schema)`, tag: path.split("/")[2] ?? "api" };
  const parameters: Json[] = [];
  for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
    parameters.push({
      name,
      in: "path",
      required: true,
      schema: info.params?.[name] ?? { type: "string" },
    });
  }
  if (info.query) {
    const schema = jsonSchema(info.query) as { properties?: Json; required?: string[] };
    for (const [name, s] of Object.entries(schema.properties ?? {})) {
      parameters.push({
        name,
        in: "query",
        required: schema.required?.includes(name) ?? false,
        schema: s,
      });
    }
  }
  for (const f of info.queryFlags ?? []) {
    parameters.push({
      name: f.name,
      in: "query",
      required: false,
      description: f.description,
      schema: { type: "string", enum: f.values },
    });
  }
  const openai = path === "/v1" || path.startsWith("/v1/");
  const errorSchema = ref(openai ? "OpenAIError" : "Error");
  const ok = info.ok ?? { status: "200", type: "application/json", description: "Success" };
  const responses: Json = {
    [ok.status]: {
      description: ok.description,
      content: { [ok.type]: ok.schema ? { schema: ok.schema } : {} },
    },
    "4XX": {
      description: "Invalid input, not found, locked, forbidden…",
      content: { "application/json": { schema: errorSchema } },
    },
  };
  if (info.upstream && openai) {
    responses["5XX"] = {
      description: "The LLM server failed (OpenAI error shape)",
      content: { "application/json": { schema: errorSchema } },
    };
  } else if (info.upstream) {
    responses["502"] = {
      description: "The LLM server failed; the typed error says why and what to do",
      content: {
        "application/json": {
          schema: { type: "object", properties: { error: ref("UpstreamError") } },
        },
      },
    };
  }
  const op: Json = {
    operationId: `${method.toLowerCase()}${
      path.replace(/[{}]/g, "").split(/[^A-Za-z0-9]+/).map((s) => s[0]?.toUpperCase() + s.slice(1))
        .join("")
    }`,
    summary: info.summary,
    tags: [info.tag],
    responses,
  };
  if (parameters.length) op.parameters = parameters;
  if (info.body) {
    op.requestBody = { required: true, content: { "application/json": { schema: info.body } } };
  }
  return op;
}

/** The OpenAPI document for the API routes among `routes`. */
export function openApiDocument(routes: readonly RouteInfo[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    if (r.method === "ALL" || !isApiPath(r.path)) continue;
    const path = openApiPath(r.path);
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = operation(r.method, path);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "deepstudio",
      version,
      description:
        "deepstudio's HTTP API: settings, providers (LM Studio and OpenAI-compatible servers), research runs, and the OpenAI-compatible gateway under /v1. Errors share one JSON shape.",
    },
    servers: [{ url: "/" }],
    security: [{}, { accessToken: [] }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: components(),
  };
}
