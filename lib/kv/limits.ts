/**
 * What Deno KV refuses, measured on Deno 2.9.6 (docs/decisions/run-ownership.md): a value over
 * 65 536 bytes ("Value too large"), an atomic write of more than 1000 mutations ("Too many
 * mutations") or of more than 819 200 bytes ("Total mutation size too large"). Sizes are V8's
 * serialised sizes, in which a string takes one byte per UTF-16 unit only when every unit is
 * Latin-1 and two otherwise: 33 000 "中" are too large for one value, 33 000 "a" are not.
 * Writers that batch (a live run's flushes) size their commits with `serialisedBytes`.
 */

/** Largest value KV stores. */
export const KV_MAX_VALUE_BYTES = 65_536;
/** Most mutations in one atomic write. */
export const KV_MAX_MUTATIONS = 1000;
/** Largest total size of one atomic write. */
export const KV_MAX_COMMIT_BYTES = 819_200;

/** Any UTF-16 unit outside Latin-1 (U+0100 and up) makes V8 store the string two bytes a unit. */
const WIDE = /[\u0100-\uffff]/;

/** An upper bound of `value`'s serialised size in KV (JSON-shaped values). */
export function serialisedBytes(value: unknown): number {
  const s = typeof value === "string" ? value : JSON.stringify(value) ?? "";
  return (WIDE.test(s) ? 2 * s.length : s.length) + 16;
}
