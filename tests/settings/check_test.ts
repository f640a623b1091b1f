/**
 * lib/settings/check.ts validates settings without zod; lib/settings/zod_type.ts builds the same
 * rules as zod/mini schemas (the OpenAPI document's). Both must give the same verdict, value and
 * message for every key, or the API would document one thing and enforce another.
 */
import { assert, assertEquals } from "../assert.ts";
import { checkSetting } from "../../lib/settings/check.ts";
import { parseSetting, SETTING_KEYS, SETTINGS } from "../../lib/settings/schema.ts";
import { zodType } from "../../lib/settings/zod_type.ts";

function viaZod(key: (typeof SETTING_KEYS)[number], value: unknown) {
  const r = zodType(SETTINGS[key].type).safeParse(value);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, message: r.error.issues.map((i) => i.message).join("; ") };
}

/** Values at and around every bound and kind of input a PATCH body, env or KV can hold. */
function corpus(): unknown[] {
  const values: unknown[] = [undefined, null, true, false, "", " ", "x", "true", "0.5", "1e3"];
  values.push(0, -0, 1, -1, 0.5, 1.5, 1e21, -1e21, 2 ** 53, -(2 ** 53), 2 ** 53 - 1);
  values.push(NaN, Infinity, -Infinity, [], [1], {}, { a: 1 }, new Date(0), 10n);
  for (const key of SETTING_KEYS) {
    const t = SETTINGS[key].type;
    if (t.kind === "int" || t.kind === "number") {
      for (const b of [t.min, t.max]) values.push(b, b - 1, b + 1, b - 0.5, b + 0.5, String(b));
    }
    if (t.kind === "enum") values.push(...t.values, t.values[0].toUpperCase(), ` ${t.values[0]}`);
    if (t.kind === "string") {
      values.push("a".repeat(t.maxLength), "a".repeat(t.maxLength + 1));
    }
  }
  for (const n of [2048, 2049, 4096, 4097]) values.push("a".repeat(n), `k\n${"a".repeat(n)}`);
  values.push(
    "localhost:1234",
    "http://localhost:1234/v1/",
    " https://a.example/x//v1 ",
    "ftp://x",
    "http://u:p@x",
    "http://x/?q",
    "http://x#f",
    "http://x y",
    "http://",
    "k\nx",
    "k\rx",
    "\n".repeat(5000),
  );
  return values;
}

/** Seeded, so a failure reproduces: strings from characters that matter to these rules. */
function fuzz(n: number): unknown[] {
  let seed = 15;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const chars = ["a", "1", ".", ":", "/", " ", "\n", "\r", "@", "?", "#", "h", "t", "p", "v"];
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rand() * 24);
    out.push(Array.from({ length: len }, () => chars[Math.floor(rand() * chars.length)]).join(""));
    out.push(`http://${out.at(-1)}`);
    out.push((rand() - 0.5) * 10 ** Math.floor(rand() * 9));
    out.push(Math.round((rand() - 0.3) * 10 ** Math.floor(rand() * 8)));
  }
  return out;
}

Deno.test("the plain validator and the zod schema agree on every key, value by value", () => {
  const values = [...corpus(), ...fuzz(500)];
  let refused = 0;
  for (const key of SETTING_KEYS) {
    for (const value of values) {
      const plain = checkSetting(SETTINGS[key].type, value);
      assertEquals(plain, viaZod(key, value), `${key} ← ${String(value).slice(0, 60)}`);
      if (!plain.ok) refused++;
    }
  }
  assert(refused > 1000, "the corpus reaches the refusing paths");
});

Deno.test("parseSetting is the plain validator: messages as the settings form shows them", () => {
  assertEquals(parseSetting("llm.max_tokens", 2 ** 53), {
    ok: false,
    message: "Enter a whole number from 1 to 1000000; Must be at most 1000000",
  });
  assertEquals(parseSetting("llm.lmstudio.api_key", `${"a".repeat(4097)}\n`), {
    ok: false,
    message: "Invalid input; API keys cannot contain line breaks",
  });
  assertEquals(parseSetting("llm.top_k", null), { ok: true, value: null });
  assertEquals(parseSetting("llm.max_tokens", null), {
    ok: false,
    message: "Enter a whole number from 1 to 1000000",
  });
  assertEquals(parseSetting("llm.ollama.url", "localhost:11434/v1/"), {
    ok: true,
    value: "http://localhost:11434",
  });
});
