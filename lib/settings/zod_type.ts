/**
 * A setting's type (lib/settings/check.ts) as a zod/mini schema: the OpenAPI document's settings
 * schema comes from it (`z.toJSONSchema`, lib/openapi.ts), and tests/settings/check_test.ts uses
 * it as the reference the plain validator must agree with. Only those import this file, so zod
 * stays off the start-up and request paths (tests/distribution/startup_graph_test.ts).
 */
import * as z from "zod/mini";
import { normalizeBaseUrl } from "../providers/url.ts";
import { API_KEY_MAX_LENGTH, SETTING_MESSAGES, type SettingType, URL_MAX_LENGTH } from "./check.ts";

function numberSchema(type: { kind: "number" | "int"; min: number; max: number }) {
  const { min, max } = type;
  const range = [
    z.gte(min, SETTING_MESSAGES.atLeast(min)),
    z.lte(max, SETTING_MESSAGES.atMost(max)),
  ];
  if (type.kind === "number") {
    return z.number({ error: SETTING_MESSAGES.number(min, max) }).check(...range);
  }
  const message = SETTING_MESSAGES.int(min, max);
  return z.number({ error: message }).check(z.int(message), ...range);
}

/** The zod/mini schema of one setting type. */
export function zodType(type: SettingType): z.ZodMiniType {
  switch (type.kind) {
    case "enum":
      return z.enum(type.values as [string, ...string[]], {
        error: SETTING_MESSAGES.enum(type.values),
      });
    case "string":
      return z.string().check(z.maxLength(type.maxLength));
    case "url": {
      const allowEmpty = type.allowEmpty;
      return z.pipe(
        z.string().check(z.maxLength(URL_MAX_LENGTH)),
        z.transform((value: string, ctx) => {
          if (allowEmpty && value.trim() === "") return "";
          const result = normalizeBaseUrl(value);
          if (!result.ok) {
            ctx.issues.push({ code: "custom", message: result.message, input: value });
            return z.NEVER;
          }
          return result.base;
        }),
      );
    }
    case "api_key":
      return z.string().check(
        z.maxLength(API_KEY_MAX_LENGTH),
        z.refine((v) => !/[\r\n]/.test(v), SETTING_MESSAGES.apiKeyLineBreak),
      );
    case "number":
    case "int":
      return type.nullable ? z.nullable(numberSchema(type)) : numberSchema(type);
    case "boolean":
      return z.boolean({ error: SETTING_MESSAGES.boolean });
  }
}
