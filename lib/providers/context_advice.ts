/**
 * How big a context to ask for, and what to tell the person when the loaded one is too small.
 * Loads use the standard power-of-two sizes (what LM Studio's own slider and most model cards
 * offer), never odd numbers: the smallest standard size that holds prompt plus answer budget,
 * capped at the model's maximum. Only LM Studio 0.4+ can be reloaded from deepstudio; every other
 * server gets the exact change to make itself (docs/lmstudio_native_api.md, docs/lmstudio.md).
 */
import type { ProviderId } from "./types.ts";

/** Context sizes offered and chosen (tokens). */
export const STANDARD_CONTEXTS = [
  4096,
  8192,
  16384,
  32768,
  65536,
  131072,
  262144,
  524288,
  1048576,
] as const;

/**
 * What a detailed research run needs: the report prompt carries 3-5 findings of up to a quarter
 * of the window each plus the answer budget, which a 32k window holds with room to spare.
 */
export const RECOMMENDED_RESEARCH_CONTEXT = 32768;

/** The sizes a picker offers for a model whose maximum is `max` (the maximum itself included). */
export function contextPresets(max: number | null): number[] {
  const cap = max ?? RECOMMENDED_RESEARCH_CONTEXT * 4;
  const out: number[] = STANDARD_CONTEXTS.filter((n) => n <= cap);
  if (max !== null && !out.includes(max) && max > 0) out.push(max);
  return out.length ? out : [cap];
}

/** The preset marked "recommended": the research size, or the maximum when that is smaller. */
export function recommendedContext(max: number | null): number {
  return max === null ? RECOMMENDED_RESEARCH_CONTEXT : Math.min(max, RECOMMENDED_RESEARCH_CONTEXT);
}

/** The context to load for `needed` tokens: the smallest standard size, capped at `max`. */
export function fitContext(
  needed: number,
  max: number | null,
): { contextLength: number; fits: boolean } {
  const size = STANDARD_CONTEXTS.find((n) => n >= needed) ?? Math.ceil(needed / 1024) * 1024;
  if (max !== null && size > max) return { contextLength: max, fits: max >= needed };
  return { contextLength: size, fits: true };
}

/** "32k"-style label for a token count. */
export function contextLabel(tokens: number): string {
  return tokens % 1024 === 0 ? `${tokens / 1024}k` : String(tokens);
}

/**
 * What to change on servers deepstudio cannot reload, to get a context of `tokens`: one
 * sentence naming the exact option.
 */
export function contextChangeHint(provider: ProviderId, model: string, tokens: number): string {
  switch (provider) {
    case "lmstudio":
      return `In LM Studio, reload ${model} with Context Length ${tokens} (My Models → the model's settings → Context Length), or run \`lms load ${model} --context-length ${tokens}\`.`;
    case "llamacpp":
      return `Restart llama-server with a larger context: \`llama-server -m <model.gguf> -c ${tokens}\`.`;
    case "ollama":
      return `Give Ollama a larger context: set num_ctx to ${tokens} (\`OLLAMA_CONTEXT_LENGTH=${tokens} ollama serve\`, or \`PARAMETER num_ctx ${tokens}\` in the model's Modelfile).`;
    default:
      return `Serve ${model} with a context of at least ${tokens} tokens (vLLM: \`--max-model-len ${tokens}\`).`;
  }
}
