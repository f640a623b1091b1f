/**
 * The deepstudio process itself dies: `kill -9` while a run streams (no shutdown handler runs, no
 * final flush), then a restart on the same KV file. The text it had saved is intact; once the dead
 * process's lease expires the restarted one takes the run over and resumes it at its step (the
 * interrupted answer re-runs from its start, so the text holds the answer once), its event log
 * stays one ordered log, and the restarted process serves new runs.
 */
import { runKey } from "../../lib/kv/keys.ts";
import type { RunRecord } from "../../lib/research/schema.ts";
import { assert, assertEquals } from "../assert.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startChild } from "./child.ts";
import { MODEL, parseSse, REPLY, replyPrefix } from "./support.ts";

async function getJson(url: string) {
  const res = await fetch(url);
  return { status: res.status, json: await res.json() };
}

async function poll<T>(what: string, fn: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("kill -9 mid-run, restart on the same KV file: the text is intact and the run resumes at its step", async () => {
  // Six tokens, then LM Studio goes quiet (well inside the 120 s timeout): the run stays running.
  const lm = await startFakeLmStudio({ reply: REPLY, fault: { kind: "hang", afterTokens: 6 } });
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-kill-" });
  const kvPath = `${dir}/deepstudio.kv`;
  const env = { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_LMSTUDIO_NATIVE_CHAT: "false" };
  // A one-second lease: the restarted process may take the run over a second after the kill.
  const lease = ["--run-lease", "1"];
  const first = await startChild(kvPath, env, lease);
  let second: Awaited<ReturnType<typeof startChild>> | null = null;
  try {
    const res = await fetch(`${first.url}/api/research`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "Tell me everything", mode: "quick" }),
    });
    assertEquals(res.status, 202);
    const { id } = await res.json();
    const partial = replyPrefix(6);
    await poll("six tokens streamed", async () => {
      const { json } = await getJson(`${first.url}/api/research/${id}`);
      return json.text === partial ? json : null;
    });
    // Wait until the batch writer has put that text in the file (read by a second KV handle),
    // so the assertion below is about keeping saved bytes, not about flush timing.
    const reader = await Deno.openKv(kvPath);
    try {
      await poll("the text persisted", async () => {
        const rec = (await reader.get<RunRecord>(runKey(id))).value;
        return rec && rec.status === "running" && rec.textLength === partial.length ? rec : null;
      });
    } finally {
      reader.close();
    }

    const status = await first.kill("SIGKILL");
    assertEquals(status.signal, "SIGKILL");
    assertEquals(status.success, false);
    // The dead process's socket closed: LM Studio sees the client go and stops generating.
    const dropped = await lm.waitForAbort((r) => r.path === "/v1/chat/completions", 10_000);
    assertEquals(dropped.abortedPhase, "streaming");

    // What the dead process saved is intact.
    const saved = await Deno.openKv(kvPath);
    try {
      const rec = (await saved.get<RunRecord>(runKey(id))).value!;
      assertEquals(rec.textLength, partial.length, "the text streamed before the kill, kept");
    } finally {
      saved.close();
    }

    lm.set({ fault: null });
    second = await startChild(kvPath, env, lease);
    // Watched through a second KV handle, not the API: the restarted process loads its research
    // code at start-up because a run is unfinished (routes/resume_at_start.ts), with no request.
    const watcher = await Deno.openKv(kvPath);
    try {
      await poll("the run resumed and completed, with no research request", async () => {
        const rec = (await watcher.get<RunRecord>(runKey(id))).value;
        return rec?.status === "completed" ? rec : null;
      });
    } finally {
      watcher.close();
    }
    const { json } = await getJson(`${second.url}/api/research/${id}`);
    assertEquals(json.run.status, "completed");
    assertEquals(json.text, REPLY, "the answer once: the partial one was cut before the re-run");
    assertEquals(json.run.resumes, 1);
    assert(json.run.finishedAt !== null, "finishedAt set");

    // The event log replays both attempts in order and rebuilds exactly the stored text.
    const sse = await fetch(`${second.url}/api/research/${id}/events`);
    const { events } = parseSse(await sse.text());
    let text = "";
    for (const e of events) {
      if (e.event === "delta") text += String(e.data.text);
      if (e.event === "text" && e.data.op === "truncate") {
        text = text.slice(0, Number(e.data.length));
      }
    }
    assertEquals(text, REPLY);
    assertEquals(events.at(-1)?.event, "done");
    assertEquals(events.at(-1)?.data, { status: "completed" });
    const ids = events.map((e) => e.id);
    assertEquals(ids, [...ids].sort((a, b) => a - b), "event ids increase");
    assertEquals(new Set(ids).size, ids.length, "no duplicate events");

    // History shows it; the export has the text; the restarted process serves new runs.
    const history = await getJson(`${second.url}/api/research`);
    const listed = history.json.runs.find((r: RunRecord) => r.id === id);
    assertEquals(listed?.status, "completed");
    const md = await fetch(`${second.url}/api/research/${id}/export.md`);
    assertEquals(md.status, 200);
    assert((await md.text()).includes(REPLY), "export has the text");
    assertEquals((await getJson(`${second.url}/api/health`)).status, 200);
    const again = await fetch(`${second.url}/api/research`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "Still there?", model: MODEL }),
    });
    assertEquals(again.status, 202);
    const next = (await again.json()).id;
    const done = await poll("the new run to complete", async () => {
      const { json } = await getJson(`${second!.url}/api/research/${next}`);
      return json.run.status === "completed" ? json : null;
    });
    assertEquals(done.text, REPLY);
  } finally {
    if (!first.exited) await first.kill("SIGKILL");
    if (second) await second.kill("SIGTERM");
    await lm.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
