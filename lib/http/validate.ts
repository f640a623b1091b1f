/**
 * zod at the edge: every route parses its input with a schema and gets the project's validation
 * error (with per-field issues) instead of a thrown ZodError or a 500.
 */
import type { z } from "zod";
import { validationError } from "./errors.ts";

/** Parses `value` or throws a 400 naming each bad field. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what = "request",
): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    key: i.path.map(String).join(".") || "(body)",
    message: i.message,
  }));
  const summary = issues.map((i) => `${i.key}: ${i.message}`).join("; ");
  throw validationError(`Invalid ${what}: ${summary}`, issues);
}
