/**
 * lib/timer.ts: the shared deadline wheel fires each deadline once, in order, never a cancelled
 * one; and the /v1 path (body deadline, idle timeout, model list call) calls no `setTimeout` or
 * `setInterval` of deepstudio's own, whose first call loads Deno's Node timers module for good
 * (docs/benchmarks.md, "Where the idle memory and the start-up time go").
 */
import { assert, assertEquals } from "../assert.ts";
import { after, every, pendingDeadlines } from "../../lib/timer.ts";
import { HELLO, startRig } from "../gateway/setup.ts";

const wait = (ms: number) => new Promise<void>((r) => after(ms, r));

Deno.test("deadlines fire once, in order, and a cancelled one never", async () => {
  const fired: string[] = [];
  const t0 = performance.now();
  const at: Record<string, number> = {};
  const mark = (name: string) => () => {
    fired.push(name);
    at[name] = performance.now() - t0;
  };
  after(60, mark("late"));
  const cancel = after(30, mark("cancelled"));
  after(20, mark("early")); // earlier than the one armed: the wheel re-arms sooner
  after(40, mark("middle"));
  cancel();
  cancel(); // twice is harmless
  await wait(120);
  assertEquals(fired, ["early", "middle", "late"]);
  assert(at.early >= 19, `early fired after ${at.early} ms, not before its 20 ms`);
  assert(at.late >= 59, `late fired after ${at.late} ms`);
  assertEquals(pendingDeadlines(), 0);
});

Deno.test("a throwing deadline does not stop the others due with it", async () => {
  const fired: number[] = [];
  const reported: unknown[] = [];
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    reported.push(e.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    after(10, () => {
      throw new Error("boom");
    });
    after(10, () => fired.push(1));
    await wait(40);
  } finally {
    globalThis.removeEventListener("error", onError);
  }
  assertEquals(fired, [1]);
  assertEquals(reported.map((e) => (e as Error).message), ["boom"]);
});

Deno.test("every() ticks until stopped", async () => {
  let ticks = 0;
  const stop = every(10, () => {
    ticks++;
    if (ticks === 3) stop();
  });
  await wait(100);
  assertEquals(ticks, 3);
  assertEquals(pendingDeadlines(), 0);
});

Deno.test("a /v1 request, streamed or not, calls no setTimeout or setInterval of deepstudio's", async () => {
  const calls: string[] = [];
  const orig = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  const spy = <F extends (...a: never[]) => unknown>(name: string, f: F) =>
    ((...a: Parameters<F>) => {
      const stack = new Error().stack ?? "";
      const own = stack.split("\n").find((l) => /\/(lib|routes)\/|\/app\.ts/.test(l));
      if (own) calls.push(`${name} ${own.trim()}`);
      return f(...a);
    }) as unknown as F;
  const rig = await startRig();
  globalThis.setTimeout = spy("setTimeout", orig.setTimeout);
  globalThis.setInterval = spy("setInterval", orig.setInterval);
  try {
    const body = { model: "qwen2.5-7b-instruct", messages: HELLO };
    const plain = await rig.post("/v1/chat/completions", body);
    assertEquals(plain.status, 200);
    await plain.body?.cancel();
    const streamed = await rig.post("/v1/chat/completions", { ...body, stream: true });
    assertEquals(streamed.status, 200);
    assert((await streamed.text()).includes("[DONE]"), "the stream ran to its end");
  } finally {
    globalThis.setTimeout = orig.setTimeout;
    globalThis.setInterval = orig.setInterval;
    await rig.close();
  }
  assertEquals(calls, []);
});
