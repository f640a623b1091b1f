/**
 * What a setting accepts, as plain data, and the validator that reads it. lib/settings/schema.ts
 * gives every setting a `SettingType`; this file decides values against it without zod, so
 * neither start-up nor a request loads a schema library (docs/decisions/memory-targets.md, "Start-up
 * without zod"). lib/settings/zod_type.ts builds the same rules as zod/mini schemas for the OpenAPI
 * document; tests/settings/check_test.ts runs both on every key over a corpus of values and
 * requires the same verdict, value and message, so the two cannot drift apart unnoticed.
 */
import { normalizeBaseUrl } from "../providers/url.ts";

/**
 * What one setting accepts. Each kind's rules (and messages, `SETTING_MESSAGES`) are read by
 * `checkSetting` (validation) and lib/settings/zod_type.ts (the OpenAPI document's schema).
 */
export type SettingType =
  /** One of `values`, exactly. */
  | { kind: "enum"; values: readonly string[] }
  /** Any string up to `maxLength` UTF-16 code units. */
  | { kind: "string"; maxLength: number }
  /** A server URL, normalised by lib/providers/url.ts (`allowEmpty`: "" means "not set"). */
  | { kind: "url"; allowEmpty: boolean }
  /** An API key: up to 4096 characters, no line breaks (it goes into a header). */
  | { kind: "api_key" }
  /** A finite number in [min, max]; `nullable`: null means "the server's default". */
  | { kind: "number"; min: number; max: number; nullable?: true }
  /** A safe integer in [min, max]; `nullable` as for numbers. */
  | { kind: "int"; min: number; max: number; nullable?: true }
  | { kind: "boolean" };

/** What a value of a setting type is after validation. */
export type TypeOutput<T extends SettingType> = T extends
  { kind: "enum"; values: readonly (infer V)[] } ? V
  : T extends { kind: "string" | "url" | "api_key" } ? string
  : T extends { kind: "boolean" } ? boolean
  : T extends { nullable: true } ? number | null
  : number;

/** The longest URL a URL setting takes. */
export const URL_MAX_LENGTH = 2048;
/** The longest API key an API key setting takes. */
export const API_KEY_MAX_LENGTH = 4096;

/**
 * The messages a refused value gets, shown next to the field. A failed type or length check of a
 * string kind says "Invalid input" (zod/mini's message, which the settings always showed).
 */
export const SETTING_MESSAGES = {
  invalid: "Invalid input",
  enum: (values: readonly string[]) => `Choose one of ${values.join(", ")}`,
  number: (min: number, max: number) => `Enter a number from ${min} to ${max}`,
  int: (min: number, max: number) => `Enter a whole number from ${min} to ${max}`,
  atLeast: (min: number) => `Must be at least ${min}`,
  atMost: (max: number) => `Must be at most ${max}`,
  boolean: "Must be true or false",
  apiKeyLineBreak: "API keys cannot contain line breaks",
} as const;

/** A validated value, or the message to show next to the field. */
export type CheckResult = { ok: true; value: unknown } | { ok: false; message: string };

const fail = (...messages: string[]): CheckResult => ({ ok: false, message: messages.join("; ") });

/** A string within `max` code units, or the type/length failure (both "Invalid input"). */
function checkString(value: unknown, max: number): CheckResult {
  if (typeof value !== "string" || value.length > max) return fail(SETTING_MESSAGES.invalid);
  return { ok: true, value };
}

function checkNumber(
  type: { min: number; max: number; kind: "number" | "int" },
  value: unknown,
): CheckResult {
  const { min, max } = type;
  const typeMessage = type.kind === "int"
    ? SETTING_MESSAGES.int(min, max)
    : SETTING_MESSAGES.number(min, max);
  if (typeof value !== "number" || !Number.isFinite(value)) return fail(typeMessage);
  const issues: string[] = [];
  if (type.kind === "int") {
    // A fraction ends the checks; an integer beyond ±2^53 is reported and the range still checked.
    if (!Number.isInteger(value)) return fail(typeMessage);
    if (!Number.isSafeInteger(value)) issues.push(typeMessage);
  }
  if (value < min) issues.push(SETTING_MESSAGES.atLeast(min));
  if (value > max) issues.push(SETTING_MESSAGES.atMost(max));
  return issues.length ? fail(...issues) : { ok: true, value };
}

/**
 * Validates `value` against `type`. Messages of several failed checks are joined with "; ", in
 * the order the checks run (as zod reports them: tests/settings/check_test.ts).
 */
export function checkSetting(type: SettingType, value: unknown): CheckResult {
  switch (type.kind) {
    case "enum":
      return typeof value === "string" && type.values.includes(value)
        ? { ok: true, value }
        : fail(SETTING_MESSAGES.enum(type.values));
    case "string":
      return checkString(value, type.maxLength);
    case "url": {
      const s = checkString(value, URL_MAX_LENGTH);
      if (!s.ok) return s;
      const text = s.value as string;
      if (type.allowEmpty && text.trim() === "") return { ok: true, value: "" };
      const url = normalizeBaseUrl(text);
      return url.ok ? { ok: true, value: url.base } : fail(url.message);
    }
    case "api_key": {
      if (typeof value !== "string") return fail(SETTING_MESSAGES.invalid);
      const issues: string[] = [];
      if (value.length > API_KEY_MAX_LENGTH) issues.push(SETTING_MESSAGES.invalid);
      if (/[\r\n]/.test(value)) issues.push(SETTING_MESSAGES.apiKeyLineBreak);
      return issues.length ? fail(...issues) : { ok: true, value };
    }
    case "number":
    case "int":
      if (value === null && type.nullable) return { ok: true, value: null };
      return checkNumber(type, value);
    case "boolean":
      return typeof value === "boolean" ? { ok: true, value } : fail(SETTING_MESSAGES.boolean);
  }
}
