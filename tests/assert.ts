/**
 * The assertion names tests use, backed by node:assert/strict. JSR (and so @std/assert) is not
 * reachable here; moving to @std/assert later is a change to this file only.
 */
import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Deep strict inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, msg?: string): void {
  assert.notDeepStrictEqual(actual, expected, msg);
}

/** Truthiness. */
export function assert_(value: unknown, msg?: string): asserts value {
  assert.ok(value, msg);
}
export { assert_ as assert };

/** Substring check with a readable failure. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  assert.ok(
    actual.includes(expected),
    msg ??
      `Expected ${JSON.stringify(actual.slice(0, 500))} to include ${JSON.stringify(expected)}`,
  );
}

/** Regex check. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  assert.match(actual, expected, msg);
}

/** Partial deep match: every key of `expected` equals the same key of `actual`. */
export function assertObjectMatch(
  actual: Record<string, unknown>,
  expected: Record<string, unknown>,
  msg?: string,
): void {
  for (const [k, v] of Object.entries(expected)) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      assertObjectMatch(actual[k] as Record<string, unknown>, v as Record<string, unknown>, msg);
    } else assert.deepStrictEqual(actual[k], v, msg ?? `key ${k}`);
  }
}

/** Expects `fn` to throw (optionally an instance of `ErrorClass` whose message includes `includes`). */
export function assertThrows(
  fn: () => unknown,
  ErrorClass?: new (...a: never[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    if (ErrorClass) assert.ok(e instanceof ErrorClass, `Expected ${ErrorClass.name}, got ${e}`);
    if (includes) assertStringIncludes((e as Error).message, includes);
    return e as Error;
  }
  throw new assert.AssertionError({ message: "Expected function to throw" });
}

/** Async version of {@link assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  ErrorClass?: new (...a: never[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (ErrorClass) assert.ok(e instanceof ErrorClass, `Expected ${ErrorClass.name}, got ${e}`);
    if (includes) assertStringIncludes((e as Error).message, includes);
    return e as Error;
  }
  throw new assert.AssertionError({ message: "Expected promise to reject" });
}

/** Numeric bound check with both values in the message. */
export function assertLessOrEqual(actual: number, max: number, msg?: string): void {
  assert.ok(actual <= max, msg ?? `Expected ${actual} <= ${max}`);
}

/** Always fails. */
export function fail(msg: string): never {
  throw new assert.AssertionError({ message: msg });
}
