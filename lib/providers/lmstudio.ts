/**
 * The LM Studio family (tests/fixtures/transcripts/lmstudio.md): the cheap greeting probe, the
 * listing ladder over the two native model APIs, whose field names differ (v0:
 * `type: "embeddings"`, `state`, `loaded_context_length`; v1: `type: "embedding"`,
 * `loaded_instances[].config.context_length`, vision as a capability), then `/v1/models` (older
 * versions answer the native routes with 200 "Unexpected endpoint", so a rung fails by shape, not
 * by status), and LM Studio's own hints. Chat is plain OpenAI-compatible.
 */
import type { ListContext, ModelList, ProviderAdapter } from "./adapter.ts";
import type { HttpDeps } from "./http.ts";
import { failOnAuth, getJson, isErrorBody } from "./http.ts";
import { lmStudioServes } from "./lmstudio_jit.ts";
import { loadLmStudioModel, unloadLmStudioModel } from "./lmstudio_load.ts";
import { streamLmStudioChat } from "./lmstudio_stream.ts";
import { listOpenAiModels } from "./openai_compatible.ts";
import type { ModelInfo, ResolvedProvider } from "./types.ts";
import type { FamilyUi } from "./ui_text.ts";
import { openAiEmbed } from "./embed_wire.ts";

/** LM Studio's own words for the Status checklist and the status line: where each switch is. */
const LM_STUDIO_UI: FamilyUi = {
  checklist: {
    start: {
      text:
        'Start LM Studio\'s server: open LM Studio → Developer tab → switch "Status" to Running, or run:',
      code: "lms server start",
    },
    portNote: ' (LM Studio shows "Reachable at http://127.0.0.1:{port}" in the Developer tab)',
    auth: {
      text:
        'LM Studio requires an API token ("Require Authentication" is on). Create one under Developer → Server Settings → Manage Tokens, then enter it on the Settings page as the LM Studio API token, or set:',
      code: "{env}=<token>",
    },
    noModels: {
      text:
        'LM Studio is running but has no chat model. Load one: Developer tab → "Select a model to load", or:',
      code: "lms load <model-key>",
    },
  },
  line: {
    start: "start the server in LM Studio's Developer tab",
    keyWhere: " (LM Studio: Developer → Server Settings → Manage Tokens)",
    load: "load one in LM Studio (or `lms load`)",
    idle: " (JIT: loaded on first use)",
  },
};

/** `GET <origin>/lmstudio-greeting` → `{"lmstudio":true}`: true only for LM Studio. */
export async function isLmStudio(
  deps: HttpDeps,
  provider: ResolvedProvider,
  opts: { signal?: AbortSignal; timeoutMs: number },
): Promise<boolean> {
  try {
    const origin = new URL(provider.baseUrl).origin;
    const answer = await getJson(deps, provider, `${origin}/lmstudio-greeting`, opts);
    return answer.status === 200 &&
      (answer.json as { lmstudio?: unknown } | undefined)?.lmstudio === true;
  } catch {
    return false;
  }
}

type Json = Record<string, unknown>;

function str(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function int(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Parses `/api/v1/models` (0.4.0+); null when the body is not that shape. */
export function parseV1Models(json: unknown): ModelInfo[] | null {
  const models = (json as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(models)) return null;
  // llama.cpp also has a "models" array (Ollama-style, no `key`): not LM Studio's v1.
  if (models.length > 0 && !models.some((m) => typeof (m as Json)?.key === "string")) return null;
  return models.filter((m) => typeof (m as Json)?.key === "string").map((raw) => {
    const m = raw as Json;
    const caps = (m.capabilities ?? {}) as Json;
    const instances = Array.isArray(m.loaded_instances) ? m.loaded_instances as Json[] : [];
    const contexts = instances.map((i) => int((i.config as Json | undefined)?.context_length))
      .filter((n): n is number => n !== null);
    const vision = caps.vision === true;
    const type = m.type === "embedding" || m.type === "embeddings"
      ? "embedding"
      : m.type === "vlm" || vision
      ? "vlm"
      : "llm";
    const quant = m.quantization as Json | string | null | undefined;
    return {
      id: String(m.key),
      displayName: str(m.display_name) ?? String(m.key),
      type,
      state: instances.length > 0 ? "loaded" : "not-loaded",
      loadedContextLength: contexts.length ? Math.min(...contexts) : null,
      maxContextLength: int(m.max_context_length),
      quantization: typeof quant === "string" ? quant : str(quant?.name),
      arch: str(m.architecture) ?? str(m.arch),
      instances: instances.filter((i) => typeof i.id === "string").map((i) => ({
        id: String(i.id),
        contextLength: int((i.config as Json | undefined)?.context_length),
      })),
      capabilities: {
        tools: caps.trained_for_tool_use === true,
        vision,
        reasoning: caps.reasoning !== undefined && caps.reasoning !== null &&
          caps.reasoning !== false,
      },
    } satisfies ModelInfo;
  });
}

/** Parses `/api/v0/models` (0.3.6+); null when the body is not that shape. */
export function parseV0Models(json: unknown): ModelInfo[] | null {
  const data = (json as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data)) return null;
  if (data.length > 0 && !data.some((m) => "state" in (m as Json) || "type" in (m as Json))) {
    return null;
  }
  return data.map((raw) => {
    const m = raw as Json;
    const caps = Array.isArray(m.capabilities) ? m.capabilities.map(String) : [];
    const state = m.state === "loaded" || m.state === "loading" || m.state === "not-loaded"
      ? m.state
      : "unknown";
    const type = m.type === "embeddings" || m.type === "embedding"
      ? "embedding"
      : m.type === "vlm"
      ? "vlm"
      : "llm";
    return {
      id: String(m.id),
      displayName: String(m.id),
      type,
      state,
      loadedContextLength: state === "loaded" ? int(m.loaded_context_length) : null,
      maxContextLength: int(m.max_context_length),
      quantization: str(m.quantization),
      arch: str(m.arch),
      capabilities: {
        tools: caps.includes("tool_use"),
        vision: type === "vlm" || caps.includes("vision"),
        reasoning: caps.includes("reasoning"),
      },
    } satisfies ModelInfo;
  });
}

async function listLmStudio(ctx: ListContext): Promise<ModelList> {
  for (
    const [path, parse, source] of [
      ["/api/v1/models", parseV1Models, "lmstudio-v1"],
      ["/api/v0/models", parseV0Models, "lmstudio-v0"],
    ] as const
  ) {
    const answer = await ctx.get(`${ctx.provider.baseUrl}${path}`);
    failOnAuth(answer, ctx.provider, ctx.deps);
    if (answer.status === 200 && !isErrorBody(answer.json)) {
      const models = parse(answer.json);
      if (models) return { models, source };
    }
  }
  return await listOpenAiModels(ctx, "openai");
}

/** The LM Studio family: model load/unload and the native chat stream (0.4+) included. */
export const lmStudioAdapter: ProviderAdapter = {
  family: "lmstudio",
  listModels: listLmStudio,
  // Embeddings: the Library (lib/providers/embed_wire.ts).
  embed: openAiEmbed,
  confirm: isLmStudio,
  hints: {
    start: () =>
      "Start LM Studio's server (Developer tab → Start server, or `lms server start`) and check the URL and port.",
    auth: () =>
      "Create a token in LM Studio (Developer → Server Settings → Manage Tokens) and set it in llm.lmstudio.api_key.",
    tokenLimit:
      "Reload the model with a larger context length (LM Studio: My Models → model settings → Context Length, or `lms load <model> --context-length N`), or shorten the input.",
    modelNotFound:
      "Load a model in LM Studio (Developer tab, or `lms load <model>`), or pick one that is loaded.",
    noModels:
      "LM Studio answers but lists no model: load one (Developer tab, or `lms load <model>`), or download one.",
    context: (model, tokens) =>
      `In LM Studio, reload ${model} with Context Length ${tokens} (My Models → the model's settings → Context Length), or run \`lms load ${model} --context-length ${tokens}\`.`,
    ui: LM_STUDIO_UI,
  },
  // Just-in-time loading: a listed model is loaded on its first request (servesUnloaded says
  // whether that is switched on right now).
  jit: true,
  loadModel: (ctx, req) => loadLmStudioModel(ctx, req),
  unloadModel: (ctx, req) => unloadLmStudioModel(ctx, req),
  streamChat: streamLmStudioChat,
  servesUnloaded: (ctx, model) => lmStudioServes(ctx.deps, ctx.provider, model, ctx),
};
