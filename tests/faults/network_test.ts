/**
 * Network faults, end to end over real sockets: nothing listening, a name that never resolves, a
 * server that goes silent before or during its answer, and a TCP connection closed mid-stream.
 * Each is checked through the research API (the run's typed error, partial text and fallback
 * report) and through the /v1 gateway, and the service must keep serving afterwards.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import {
  assertFailedRun,
  assertGatewayError,
  assertStillServing,
  assertTyped,
  deadPort,
  healFake,
  openAiEvents,
  replyPrefix,
  runMeetingFault,
  startRig,
  streamedContent,
} from "./support.ts";

const START_HINT = /Start LM Studio's server .*check the URL and port/;
const HELLO = [{ role: "user", content: "Say hello." }];

Deno.test("connection refused: nothing starts, a waiting run fails with the fix, /v1 says 502", async () => {
  const rig = await startRig();
  try {
    const dead = `http://127.0.0.1:${deadPort()}`;
    // A run that waited in the queue meets the dead server when it starts.
    const id = await runMeetingFault(rig, () => rig.setSettings({ "llm.lmstudio.url": dead }));
    await assertFailedRun(rig, id, {
      kind: "connection",
      title: "LLM Connection Error",
      url: `${dead}/`,
      message: ["connection refused"],
      hint: [START_HINT],
      partial: "",
    });

    // A new run is refused before anything starts, saying the same.
    const refused = await rig.api("POST", "/api/research", { query: "Anyone home?" });
    assertEquals(refused.status, 502);
    const err = refused.json.error as Record<string, unknown>;
    assertEquals(err.kind, "upstream");
    assertStringIncludes(String(err.message), "Nothing was started");
    assertTyped(err.upstream as never, {
      kind: "connection",
      title: "LLM Connection Error",
      url: `${dead}/`,
      message: ["connection refused"],
      hint: [START_HINT],
    });

    const res = await rig.chat({ messages: HELLO, stream: true });
    await assertGatewayError(res, {
      status: 502,
      code: "upstream_unreachable",
      url: `${dead}/`,
      parts: ["connection refused", START_HINT],
    });

    await assertStillServing(rig, () => rig.setSettings({ "llm.lmstudio.url": rig.lm.url }));
  } finally {
    await rig.close();
  }
});

Deno.test("DNS failure: a name that never resolves is a connection error naming the host", async () => {
  const rig = await startRig();
  try {
    const nowhere = "http://nonexistent.invalid:1234";
    const id = await runMeetingFault(rig, () => rig.setSettings({ "llm.lmstudio.url": nowhere }));
    await assertFailedRun(rig, id, {
      kind: "connection",
      title: "LLM Connection Error",
      url: `${nowhere}/`,
      message: ["host name not found"],
      hint: [START_HINT],
      partial: "",
    });

    const refused = await rig.api("POST", "/api/research", { query: "Anyone home?" });
    assertEquals(refused.status, 502);
    assertTyped((refused.json.error as Record<string, unknown>).upstream as never, {
      kind: "connection",
      title: "LLM Connection Error",
      url: `${nowhere}/`,
      message: ["host name not found"],
      hint: [START_HINT],
    });

    const res = await rig.chat({ messages: HELLO, model: "qwen2.5-7b-instruct", stream: true });
    await assertGatewayError(res, {
      status: 502,
      code: "upstream_unreachable",
      url: `${nowhere}/v1/chat/completions`,
      parts: ["host name not found", START_HINT],
    });

    await assertStillServing(rig, () => rig.setSettings({ "llm.lmstudio.url": rig.lm.url }));
  } finally {
    await rig.close();
  }
});

Deno.test("hang before headers: the idle timeout fails the run and drops the request upstream", async () => {
  const rig = await startRig({ settings: { "llm.request_timeout": 1 } });
  // The proxy reads each chat request and never answers: no status line, no headers.
  const proxy = startFaultProxy(rig.lm.url, { chat: "hold" });
  try {
    await rig.setSettings({ "llm.lmstudio.url": proxy.url });
    const chatUrl = `${proxy.url}/v1/chat/completions`;
    const id = await rig.startRun();
    await assertFailedRun(rig, id, {
      kind: "timeout",
      title: "LLM Timeout Error",
      url: chatUrl,
      message: ["sent nothing for 1 s"],
      hint: ["loading a model or be overloaded", "llm.request_timeout"],
      partial: "",
    });
    await proxy.waitDropped(1); // deepstudio closed the socket: the upstream request is gone

    const res = await rig.chat({ messages: HELLO, stream: true });
    await assertGatewayError(res, {
      status: 504,
      code: "upstream_timeout",
      url: chatUrl,
      parts: ["sent nothing for 1 s", "llm.request_timeout"],
    });
    await proxy.waitDropped(2);
    assertEquals(proxy.held, 2);

    await assertStillServing(rig, () => rig.setSettings({ "llm.lmstudio.url": rig.lm.url }));
  } finally {
    await proxy.close();
    await rig.close();
  }
});

Deno.test("hang mid-stream: the run keeps what streamed and fails with a timeout report", async () => {
  const rig = await startRig({
    fake: { fault: { kind: "hang", afterTokens: 3 } },
    settings: { "llm.request_timeout": 1 },
  });
  try {
    const chatUrl = `${rig.lm.url}/v1/chat/completions`;
    const id = await rig.startRun();
    await assertFailedRun(rig, id, {
      kind: "timeout",
      title: "LLM Timeout Error",
      url: chatUrl,
      message: ["sent nothing for 1 s"],
      hint: ["llm.request_timeout"],
      partial: replyPrefix(3),
    });
    const dropped = await rig.lm.waitForAbort((r) => r.path === "/v1/chat/completions", 5000);
    assertEquals(dropped.abortedPhase, "streaming");

    // /v1: the client gets the three tokens, then the timeout as an error event, no [DONE].
    const res = await rig.chat({ messages: HELLO, stream: true });
    assertEquals(res.status, 200);
    const events = openAiEvents(await res.text());
    assertEquals(streamedContent(events), replyPrefix(3));
    assert(!events.includes("[DONE]"), "no [DONE] after a failure");
    const last = events.at(-1) as { error: { message: string; code: string } };
    assertEquals(last.error.code, "upstream_timeout");
    assertStringIncludes(last.error.message, `LM Studio at ${chatUrl} sent nothing for 1 s`);
    assertStringIncludes(last.error.message, "llm.request_timeout");

    await assertStillServing(rig, () => healFake(rig.lm));
  } finally {
    await rig.close();
  }
});

Deno.test("connection reset mid-stream (real TCP close): partial text kept, connection error", async () => {
  const rig = await startRig();
  // 4 content chunks (LM Studio sends no role-only chunk), then the socket is closed mid-body.
  const proxy = startFaultProxy(rig.lm.url, { chat: "cut", cutAfterEvents: 4 });
  try {
    await rig.setSettings({ "llm.lmstudio.url": proxy.url });
    const chatUrl = `${proxy.url}/v1/chat/completions`;
    const id = await rig.startRun();
    await assertFailedRun(rig, id, {
      kind: "connection",
      title: "LLM Connection Error",
      url: chatUrl,
      message: ["Lost the connection", "closed mid-response"],
      hint: ["closed the connection while answering", "the text so far is kept"],
      partial: replyPrefix(4),
    });
    assertEquals(proxy.cuts, 1);

    const res = await rig.chat({ messages: HELLO, stream: true });
    assertEquals(res.status, 200);
    const events = openAiEvents(await res.text());
    assertEquals(streamedContent(events), replyPrefix(4));
    assert(!events.includes("[DONE]"), "no [DONE] after a failure");
    const last = events.at(-1) as { error: { message: string; code: string } };
    assertEquals(last.error.code, "upstream_unreachable");
    assertStringIncludes(last.error.message, `Lost the connection to LM Studio at ${chatUrl}`);
    assertStringIncludes(last.error.message, "the text so far is kept");
    assertEquals(proxy.cuts, 2);

    await assertStillServing(rig, () => rig.setSettings({ "llm.lmstudio.url": rig.lm.url }));
  } finally {
    await proxy.close();
    await rig.close();
  }
});
