/**
 * How big a context to ask for, and what to tell the person when the loaded one is too small.
 * Loads use the standard power-of-two sizes (what LM Studio's own slider and most model cards
 * offer), never odd numbers: the smallest standard size that holds prompt plus answer budget,
 * capped at the model's maximum. Only LM Studio 0.4+ can be reloaded from deepstudio; every other
 * server gets the exact change to make itself from its adapter's `hints.context`.
 */

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

/** Room an answer should have when sizing a context (tokens): a full section, not the minimum. */
export const ANSWER_ROOM = 2048;

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
