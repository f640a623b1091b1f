/**
 * llama.cpp's `llama-server`: one model per process, listed by `/v1/models` with the context it
 * was started with in `meta.n_ctx` (tests/fixtures/transcripts/llamacpp/01-basic.txt); it also has
 * an Ollama-style `models` array beside `data`. Context and model come from the command line, so
 * the hints name its flags.
 */
import type { ProviderAdapter } from "./adapter.ts";
import { GENERIC_HINTS, listOpenAiModels } from "./openai_compatible.ts";
import { openAiEmbed } from "./embed_wire.ts";

type Json = Record<string, unknown>;

/** The llama.cpp family. */
export const llamaCppAdapter: ProviderAdapter = {
  family: "llamacpp",
  listModels: (ctx) => listOpenAiModels(ctx, "llamacpp"),
  // Embeddings: the Library (lib/providers/embed_wire.ts).
  embed: openAiEmbed,
  recognizes(body) {
    const data = Array.isArray(body.data) ? body.data as Json[] : null;
    if (!data) return false;
    return Array.isArray(body.models) ||
      data.some((m) => m?.owned_by === "llamacpp" || (m?.meta && typeof m.meta === "object"));
  },
  // tests/fixtures/transcripts/llamacpp/03-chat-stream.txt: `timings` ride on the finish chunk,
  // or on the usage chunk when include_usage is on.
  movesFinishFieldsToUsage: true,
  hints: {
    ...GENERIC_HINTS,
    start: (p) =>
      `Make sure ${p.record.displayName} is running (llama-server -m model.gguf --port 8080), then check the URL and port.`,
    tokenLimit:
      "Restart the server with a larger context (e.g. llama-server -c N), or shorten the input.",
    modelNotFound:
      "llama-server serves the one model it was started with (-m): pick that model, or restart it with another.",
    noModels: "The server answers but lists no model: start llama-server with -m model.gguf.",
    context: (_model, tokens) =>
      `llama-server cannot be reloaded from deepstudio: restart it with a larger context, \`llama-server -m <model.gguf> -c ${tokens}\`.`,
  },
};
