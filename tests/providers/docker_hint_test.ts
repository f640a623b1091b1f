/**
 * The container/loopback hint ("use host.docker.internal") belongs only to failures that mean
 * "cannot reach that address": refused, DNS, a connect that timed out. Once the server answered
 * (tokens arrived, a 401, an empty list), the loopback clearly works and the hint would mislead.
 * deepstudio runs "in a container" here (`inContainer: true`) against fakes on 127.0.0.1.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { connectionError, timeoutError } from "../../lib/providers/errors.ts";
import { probeStatus } from "../../lib/providers/status.ts";
import { streamChat } from "../../lib/providers/stream.ts";
import type { StreamEvent, UpstreamError } from "../../lib/providers/types.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { blackHole, collect, httpDeps, last, provider, refusedUrl, streamDeps } from "./support.ts";

const HI = [{ role: "user" as const, content: "hi" }];
const DOCKER = "host.docker.internal";

function errorOf(ev: StreamEvent): UpstreamError {
  if (ev.type !== "error") throw new Error(`expected an error, got ${JSON.stringify(ev)}`);
  return ev.error;
}

Deno.test("a timeout after the server already sent tokens gets no Docker hint", async () => {
  const lm = await startFakeLmStudio({ fault: { kind: "hang", afterTokens: 2 } });
  try {
    const events = await collect(streamChat(
      streamDeps({ "llm.request_timeout": 1 }, { inContainer: true }),
      provider("lmstudio", lm.url),
      { messages: HI },
      new AbortController().signal,
    ));
    const e = errorOf(last(events));
    assertEquals(e.kind, "timeout");
    assert(!e.hint.includes(DOCKER), e.hint);
    assertEquals(e.suggestedUrl, undefined);
  } finally {
    await lm.close();
  }
});

Deno.test("a connection dropped mid-answer gets no Docker hint", async () => {
  const lm = await startFakeLmStudio({ fault: { kind: "reset", afterTokens: 2 } });
  try {
    const events = await collect(streamChat(
      streamDeps({}, { inContainer: true }),
      provider("lmstudio", lm.url),
      { messages: HI },
      new AbortController().signal,
    ));
    const e = errorOf(last(events));
    assertEquals(e.kind, "connection");
    assert(!e.hint.includes(DOCKER), e.hint);
  } finally {
    await lm.close();
  }
});

Deno.test("auth, empty-list and wrong-path states in a container get no Docker hint", async () => {
  const lm = await startFakeLmStudio({ apiToken: "t0ken" });
  const empty = await startFakeLmStudio({ models: [] });
  try {
    const auth = await probeStatus(httpDeps(true), provider("lmstudio", lm.url));
    assertEquals(auth.state, "auth_required");
    assert(!auth.hint.includes(DOCKER), auth.hint);
    assert(!auth.dockerLoopback);
    const none = await probeStatus(httpDeps(true), provider("lmstudio", empty.url));
    assertEquals(none.state, "no_models");
    assert(!none.hint.includes(DOCKER), none.hint);
    const wrong = await probeStatus(httpDeps(true), provider("lmstudio", `${empty.url}/api`));
    assertEquals(wrong.state, "wrong_path");
    assert(!wrong.hint.includes(DOCKER), wrong.hint);
  } finally {
    await lm.close();
    await empty.close();
  }
});

Deno.test("refused and connect-timeout failures in a container keep the Docker hint", async () => {
  const refused = await probeStatus(httpDeps(true), provider("lmstudio", refusedUrl()));
  assertEquals(refused.state, "unreachable");
  assertStringIncludes(refused.hint, DOCKER);
  const hole = blackHole();
  try {
    const slow = await probeStatus(httpDeps(true), provider("llamacpp", hole.url), {
      timeoutMs: 200,
    });
    assertEquals(slow.state, "timeout");
    assertStringIncludes(slow.hint, DOCKER);
    assertEquals(slow.dockerLoopback, true);
  } finally {
    hole.close();
  }
});

Deno.test("the error builders: only 'not reached' failures carry the hint", () => {
  const p = provider("lmstudio", "http://localhost:1234");
  const ctx = { url: "http://localhost:1234/v1/chat/completions", inContainer: true };
  assertStringIncludes(connectionError(p, ctx, "connection refused").hint, DOCKER);
  assertStringIncludes(connectionError(p, ctx, "host name not found").hint, DOCKER);
  assertStringIncludes(timeoutError(p, ctx).hint, DOCKER);
  assert(!timeoutError(p, { ...ctx, responded: true }).hint.includes(DOCKER));
  assert(!connectionError(p, ctx, "the connection was closed mid-response").hint.includes(DOCKER));
  assert(!connectionError(p, ctx, "TLS handshake failed").hint.includes(DOCKER));
});
