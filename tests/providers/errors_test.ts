import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { errorFromHttp, toUpstreamError } from "../../lib/providers/errors.ts";
import { loadSdk } from "../../lib/providers/sdk.ts";
import {
  AUTH_REQUIRED_BODY,
  JSON_OBJECT_BODY,
  NO_MODELS_LOADED_BODY,
  overflowText,
} from "../fakes/lmstudio.ts";
import { LLAMA_CONTEXT_EXCEEDED_BODY } from "../fakes/llamacpp.ts";
import { provider } from "./support.ts";

// The SDK is loaded on first need (lib/providers/sdk.ts); errors of its classes exist only after
// that, so the mapping recognises them only then. Here they are built directly.
await loadSdk();

const LM = provider("lmstudio", "http://localhost:1234");
const URL_USED = "http://localhost:1234/v1/chat/completions";
const CTX = { url: URL_USED, inContainer: false };

Deno.test("SDK classes map most specific first: abort, timeout before connection, then status", () => {
  assertEquals(toUpstreamError(new APIUserAbortError(), LM, CTX).kind, "cancelled");
  assertEquals(toUpstreamError(new APIConnectionTimeoutError(), LM, CTX).kind, "timeout");
  const conn = toUpstreamError(
    new APIConnectionError({ cause: new TypeError("tcp connect error: Connection refused") }),
    LM,
    CTX,
  );
  assertEquals(conn.kind, "connection");
  assertStringIncludes(conn.message, "connection refused");
  const auth = toUpstreamError(
    APIError.generate(401, JSON.parse(AUTH_REQUIRED_BODY), undefined, new Headers()),
    LM,
    CTX,
  );
  assertEquals(auth.kind, "authentication");
  assertStringIncludes(auth.hint, "Manage Tokens");
  const limited = toUpstreamError(
    APIError.generate(
      429,
      { error: { message: "slow down" } },
      undefined,
      new Headers({ "retry-after": "12" }),
    ),
    LM,
    CTX,
  );
  assertEquals([limited.kind, limited.retryAfter], ["rate_limit", 12]);
});

Deno.test("every message names the provider's display name and the actual URL used", () => {
  const errors = [
    toUpstreamError(new APIUserAbortError(), LM, CTX),
    toUpstreamError(new APIConnectionTimeoutError(), LM, { ...CTX, timeoutSeconds: 3 }),
    errorFromHttp(404, JSON.parse(NO_MODELS_LOADED_BODY), null, LM, CTX),
    errorFromHttp(400, JSON.parse(JSON_OBJECT_BODY), null, LM, CTX),
    errorFromHttp(500, "boom", null, LM, CTX),
    errorFromHttp(
      200,
      { error: "Unexpected endpoint or method. (POST /chat/completions)" },
      null,
      LM,
      CTX,
    ),
  ];
  for (const e of errors) {
    assertStringIncludes(e.message, "LM Studio");
    assertStringIncludes(e.message, URL_USED);
    assertEquals(e.url, URL_USED);
    assert(e.title.length > 0);
  }
});

Deno.test("statuses and body shapes map to the spec's kinds", () => {
  const cases: [number | undefined, unknown, string][] = [
    [404, JSON.parse(NO_MODELS_LOADED_BODY), "model_not_found"],
    [400, JSON.parse(JSON_OBJECT_BODY), "bad_request"],
    [403, { error: "forbidden" }, "authentication"],
    [
      401,
      { error: { message: "Invalid API Key", type: "authentication_error", code: 401 } },
      "authentication",
    ],
    [429, { error: "rate" }, "rate_limit"],
    [500, { error: { message: "Model crashed", type: "server_error" } }, "server_error"],
    [
      503,
      { error: { message: "Loading model", type: "unavailable_error", code: 503 } },
      "server_error",
    ],
    [
      404,
      { error: { message: "File Not Found", type: "not_found_error", code: 404 } },
      "bad_request",
    ],
    [200, { error: "Unexpected endpoint or method. (GET /v1//models)" }, "bad_request"],
    [undefined, { error: { message: "Model crashed while generating" } }, "server_error"],
    [422, "<html>nope</html>", "bad_request"],
  ];
  for (const [status, body, kind] of cases) {
    const e = status === undefined
      ? toUpstreamError(
        new APIError(undefined, (body as { error: object }).error, undefined, undefined),
        LM,
        CTX,
      )
      : errorFromHttp(status, body, null, LM, CTX);
    assertEquals(e.kind, kind, JSON.stringify([status, body]));
  }
});

Deno.test("context overflow is recognised from every text in docs/providers.md (Errors) with prompt size vs loaded context", () => {
  const withNumbers: [number, unknown, number, number][] = [
    [400, { error: overflowText("trying-to-keep", 111490, 32768) }, 111490, 32768],
    [400, { error: { message: overflowText("n-keep", 15028, 7424) } }, 15028, 7424],
    [
      400,
      {
        error: {
          code: 400,
          message:
            "request (304 tokens) exceeds the available context size (256 tokens), try increasing it",
          type: "exceed_context_size_error",
          n_prompt_tokens: 304,
          n_ctx: 256,
        },
      },
      304,
      256,
    ],
    [
      400,
      {
        error: {
          message:
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
          type: "invalid_request_error",
          code: "context_length_exceeded",
        },
      },
      9000,
      8192,
    ],
  ];
  for (const [status, body, prompt, ctx] of withNumbers) {
    const e = errorFromHttp(status, body, null, LM, CTX);
    assertEquals(e.kind, "token_limit", JSON.stringify(body));
    assertEquals([e.promptTokens, e.contextLength], [prompt, ctx]);
    assertStringIncludes(e.message, `prompt ≈ ${prompt} tokens vs loaded context ${ctx}`);
    assertStringIncludes(e.message, URL_USED);
  }
  const without = [
    { error: overflowText("initial-prompt", 0, 0) },
    JSON.parse(LLAMA_CONTEXT_EXCEEDED_BODY),
    { error: "Context length exceeded" },
    { error: { message: "Too many tokens in the request" } },
    { error: "token limit reached" },
  ];
  for (const body of without) {
    assertEquals(errorFromHttp(400, body, null, LM, CTX).kind, "token_limit", JSON.stringify(body));
  }
  // Inside a stream (llama.cpp's shared-KV failure), status unknown.
  const inStream = toUpstreamError(
    new APIError(undefined, JSON.parse(LLAMA_CONTEXT_EXCEEDED_BODY).error, undefined, undefined),
    LM,
    CTX,
  );
  assertEquals(inStream.kind, "token_limit");
});

Deno.test("secrets never appear in error messages even when the server echoes them", () => {
  const secret = "sk-lm-Zx81abcdef:supersecretvalue";
  const p = provider("lmstudio", "http://localhost:1234", secret);
  const e = errorFromHttp(
    401,
    {
      error: { message: `Incorrect API key provided: ${secret}. Authorization: Bearer ${secret}` },
    },
    null,
    p,
    CTX,
  );
  assertEquals(e.kind, "authentication");
  assert(!JSON.stringify(e).includes(secret), JSON.stringify(e));
  assert(!JSON.stringify(e).includes("supersecretvalue"));
});

Deno.test("inside a container a loopback URL gets the Docker hint with host.docker.internal and the same port", () => {
  const e = toUpstreamError(
    new APIConnectionError({ cause: new TypeError("Connection refused") }),
    LM,
    { url: URL_USED, inContainer: true },
  );
  assertEquals(e.kind, "connection");
  assertStringIncludes(e.hint, "http://host.docker.internal:1234");
  assertEquals(e.suggestedUrl, "http://host.docker.internal:1234");
  const outside = toUpstreamError(
    new APIConnectionError({ cause: new TypeError("refused") }),
    LM,
    CTX,
  );
  assert(!outside.hint.includes("host.docker.internal"));
  const lan = provider("lmstudio", "http://192.168.1.20:1234");
  const remote = toUpstreamError(new APIConnectionError({ cause: new TypeError("refused") }), lan, {
    url: "http://192.168.1.20:1234/v1/models",
    inContainer: true,
  });
  assert(!remote.hint.includes("host.docker.internal"));
});
