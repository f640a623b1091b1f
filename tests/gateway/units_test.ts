import { assertEquals } from "../assert.ts";
import { createIdleWatcher } from "../../lib/providers/idle.ts";
import { fromUpstreamError, messageWithHint, statusFor } from "../../lib/gateway/openai_error.ts";
import { routeModel, validateChat } from "../../lib/gateway/request.ts";
import { serverTiming } from "../../lib/gateway/timing.ts";
import type { UpstreamError } from "../../lib/providers/types.ts";

function upstream(kind: UpstreamError["kind"], status?: number): UpstreamError {
  return {
    kind,
    title: "t",
    message: "LM Studio at http://127.0.0.1:1234 said no",
    hint: "Do this.",
    provider: "lmstudio",
    url: "http://127.0.0.1:1234/v1/chat/completions",
    ...(status !== undefined ? { status } : {}),
  };
}

Deno.test("statuses: connection 502, timeout 504, upstream's own status otherwise, never a 2xx", () => {
  assertEquals(statusFor(upstream("connection")), 502);
  assertEquals(statusFor(upstream("timeout")), 504);
  assertEquals(statusFor(upstream("authentication", 401)), 401);
  assertEquals(statusFor(upstream("authentication", 403)), 403);
  assertEquals(statusFor(upstream("model_not_found", 404)), 404);
  assertEquals(statusFor(upstream("token_limit", 400)), 400);
  assertEquals(statusFor(upstream("rate_limit", 429)), 429);
  assertEquals(statusFor(upstream("server_error", 503)), 503);
  assertEquals(statusFor(upstream("bad_request", 200)), 502, "an error body inside a 200");
  assertEquals(statusFor(upstream("server_error")), 502, "garbage from upstream");
  assertEquals(statusFor(upstream("model_not_found")), 404, "no model to default to");
});

Deno.test("the hint travels in the message, and retry-after in a header", () => {
  assertEquals(messageWithHint("It failed", "Retry."), "It failed. Retry.");
  assertEquals(messageWithHint("It failed.", "Retry."), "It failed. Retry.");
  assertEquals(messageWithHint("It failed", ""), "It failed");
  const e = fromUpstreamError({ ...upstream("rate_limit", 429), retryAfter: 9 });
  assertEquals(e.headers, { "retry-after": "9" });
  assertEquals(e.body.error.message, "LM Studio at http://127.0.0.1:1234 said no. Do this.");
  assertEquals(e.body.error.code, "rate_limit_exceeded");
});

Deno.test("only a known provider id counts as a routing prefix", () => {
  assertEquals(routeModel("llamacpp/tiny", "lmstudio"), {
    providerId: "llamacpp",
    model: "tiny",
    prefixed: true,
  });
  assertEquals(routeModel("google/gemma-4-26b-a4b", "lmstudio"), {
    providerId: "lmstudio",
    model: "google/gemma-4-26b-a4b",
    prefixed: false,
  });
  assertEquals(routeModel("ollama/", "lmstudio"), {
    providerId: "ollama",
    model: "",
    prefixed: true,
  });
  assertEquals(routeModel(undefined, "llamacpp").providerId, "llamacpp");
  assertEquals(routeModel("/x", "lmstudio").prefixed, false);
});

Deno.test("validation names the offending parameter", () => {
  assertEquals(validateChat({ messages: [] }), null);
  assertEquals(validateChat({ messages: [], max_tokens: null, stream: null, model: null }), null);
  assertEquals(validateChat({})?.body.error.param, "messages");
  assertEquals(validateChat({})?.body.error.code, "missing_required_parameter");
  assertEquals(validateChat({ messages: {} })?.body.error.param, "messages");
  assertEquals(validateChat({ messages: [], model: 3 })?.body.error.param, "model");
  assertEquals(validateChat({ messages: [], max_tokens: 0 })?.body.error.param, "max_tokens");
  assertEquals(validateChat({ messages: [], max_tokens: 1.5 })?.body.error.param, "max_tokens");
  assertEquals(
    validateChat({ messages: [], max_completion_tokens: -1 })?.body.error.param,
    "max_completion_tokens",
  );
  assertEquals(
    validateChat({ messages: [], stream_options: [] })?.body.error.param,
    "stream_options",
  );
});

Deno.test("Server-Timing entries are rounded and described", () => {
  assertEquals(
    serverTiming([{ name: "ds", dur: 0.2149, desc: "deepstudio" }, { name: "upstream", dur: 12 }]),
    'ds;dur=0.21;desc="deepstudio", upstream;dur=12',
  );
  assertEquals(serverTiming([{ name: "ds", dur: -0.001 }]), "ds;dur=0");
});

Deno.test("the idle watcher fires once after silence, never while touched, and leaves no timer", async () => {
  // A clock the test moves, so a loaded machine cannot make "busy" look silent.
  let clock = 0;
  const watcher = createIdleWatcher(() => clock, 10);
  let idleFired = 0;
  let fired!: () => void;
  const firedOnce = new Promise<void>((r) => fired = r);
  const quiet = watcher.watch(40, () => {
    idleFired++;
    fired();
  });
  let busyFired = 0;
  const busy = watcher.watch(40, () => busyFired++);
  for (let step = 0; step < 5; step++) {
    clock += 30; // "quiet" has been silent longer than 40 after the second step
    busy.touch();
    await new Promise((r) => setTimeout(r, 15)); // at least one sweep of the 10 ms interval
  }
  let guard: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    firedOnce,
    new Promise((r) => guard = setTimeout(r, 2000)), // a broken watcher fails below, never hangs
  ]);
  clearTimeout(guard);
  assertEquals(idleFired, 1);
  assertEquals(busyFired, 0);
  assertEquals(watcher.size, 1);
  busy.stop();
  quiet.stop();
  // Empty again: the interval is cleared (Deno's op sanitizer fails the test otherwise).
  assertEquals(watcher.size, 0);
});
