/**
 * LM Studio's extras (spec §3-§4, transcripts/lmstudio.md): the cheap greeting probe and the two
 * native model APIs, whose field names differ (v0: `type: "embeddings"`, `state`,
 * `loaded_context_length`; v1: `type: "embedding"`, `loaded_instances[].config.context_length`,
 * vision as a capability). Everything else LM Studio does is plain OpenAI-compatible.
 */
import type { HttpDeps } from "./http.ts";
import { getJson } from "./http.ts";
import type { ModelInfo, ResolvedProvider } from "./types.ts";

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
