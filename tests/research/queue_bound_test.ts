/**
 * The research queue is bounded (`app.max_queued_researches`, beyond it 429) and a waiting run
 * stores O(1) events however often its position changes: KV grows linearly with the queue, not
 * with its square. Positions still reach live followers and reads, derived instead of stored.
 */
import { runEventsPrefix } from "../../lib/kv/keys.ts";
import type { RunEvent, RunRecord } from "../../lib/research/schema.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { type Harness, harness, readSse, words } from "./support.ts";

/** One run that streams slowly and holds the only slot until cancelled. */
const HOLD = { reply: words(2000), tokenDelayMs: 50 };

async function cancel(h: Harness, id: string) {
  const res = await fetch(`${h.url}/api/research/${id}/cancel`, { method: "POST" });
  await res.body?.cancel();
  assertEquals(res.status, 200, `cancel ${id}`);
}

/** Stored events of a run and their serialised size. */
async function storedEvents(kv: Deno.Kv, id: string): Promise<{ count: number; bytes: number }> {
  let count = 0, bytes = 0;
  for await (const e of kv.list<RunEvent[]>({ prefix: runEventsPrefix(id) })) {
    count += e.value.length;
    bytes += JSON.stringify(e.value).length;
  }
  return { count, bytes };
}

Deno.test("beyond app.max_queued_researches a new run is refused with 429, even when sent at once", async () => {
  const h = await harness({
    fake: HOLD,
    env: { LDR_APP_MAX_CONCURRENT_RESEARCHES: "1", LDR_APP_MAX_QUEUED_RESEARCHES: "5" },
  });
  try {
    const first = await h.post({ query: "holder", mode: "quick" });
    assertEquals(first.json.status, "running");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.post({ query: `q${i}`, mode: "quick" })),
    );
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    assertEquals(accepted.length, 5, "exactly the queue's bound is accepted");
    assertEquals(refused.length, 15);
    const error = refused[0].json.error as Record<string, unknown>;
    assertEquals(error.kind, "too_many_requests");
    assertEquals(error.limit, 5);
    assertMatch(String(error.message), /app\.max_queued_researches = 5/);
    // Refused runs were never created.
    const list = await h.get("/api/research?limit=100");
    assertEquals((list.json.runs as unknown[]).length, 6);
    // A freed place can be taken again.
    await cancel(h, accepted[0].json.id as string);
    assertEquals((await h.post({ query: "again", mode: "quick" })).status, 202);
    for (const a of [first, ...accepted]) await cancel(h, a.json.id as string).catch(() => {});
  } finally {
    await h.close();
  }
});

/** Queues `n` runs behind a holder, cancels them front first (every cancel shifts the rest). */
async function churn(n: number): Promise<{ perRunMax: number; totalBytes: number }> {
  const h = await harness({
    fake: HOLD,
    env: { LDR_APP_MAX_CONCURRENT_RESEARCHES: "1", LDR_APP_MAX_QUEUED_RESEARCHES: String(n) },
  });
  try {
    const holder = await h.post({ query: "holder", mode: "quick" });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await h.post({ query: `q${i}`, mode: "quick" });
      assertEquals(res.status, 202);
      ids.push(res.json.id as string);
    }
    assertEquals((await h.post({ query: "one too many", mode: "quick" })).status, 429);
    const last = await h.get(`/api/research/${ids[n - 1]}`);
    assertEquals((last.json.run as RunRecord).progress?.position, n);
    for (const id of ids) await cancel(h, id);
    await cancel(h, holder.json.id as string);
    let perRunMax = 0, totalBytes = 0;
    for (const id of ids) {
      const { count, bytes } = await storedEvents(h.kv, id);
      perRunMax = Math.max(perRunMax, count);
      totalBytes += bytes;
    }
    return { perRunMax, totalBytes };
  } finally {
    await h.close();
  }
}

Deno.test("400 queued runs: each stores O(1) events and KV grows linearly with the queue", async () => {
  const small = await churn(100);
  const large = await churn(400);
  // queued status + one position + cancelled progress/status/done: a handful, whatever the queue.
  assert(large.perRunMax <= 8, `a waiting run stored ${large.perRunMax} events`);
  assertEquals(large.perRunMax, small.perRunMax, "independent of the queue's length");
  const ratio = large.totalBytes / small.totalBytes;
  assert(ratio < 4.5, `4× the runs → ${ratio.toFixed(2)}× the event bytes (linear is ~4)`);
});

Deno.test("a waiting run's position still reaches a live follower and a read, without being stored", async () => {
  const h = await harness({
    fake: HOLD,
    env: { LDR_APP_MAX_CONCURRENT_RESEARCHES: "1" },
  });
  try {
    const holder = await h.post({ query: "holder", mode: "quick" });
    const a = await h.post({ query: "a", mode: "quick" });
    const b = await h.post({ query: "b", mode: "quick" });
    const bId = b.json.id as string;
    const before = await h.get(`/api/research/${bId}`);
    assertEquals((before.json.run as RunRecord).progress?.position, 2);
    // Once the follower has the stored events (position 2), move the queue.
    let moving: Promise<void> | null = null;
    const { events } = await readSse(`${h.url}/api/research/${bId}/events`, {
      until: (events) => {
        if (!moving && events.some((e) => e.data.position === 2)) {
          moving = cancel(h, a.json.id as string);
        }
        return events.some((e) => e.data.position === 1);
      },
    });
    await moving;
    const moved = events.find((e) => e.data.position === 1)!;
    assertEquals(moved.event, "progress");
    assertEquals(moved.id, undefined, "an unstored frame carries no id");
    assertMatch(String(moved.data.message), /number 1 in the queue/);
    const after = await h.get(`/api/research/${bId}`);
    assertEquals((after.json.run as RunRecord).progress?.position, 1, "derived when read");
    assertEquals((await storedEvents(h.kv, bId)).count <= 2, true);
    await cancel(h, bId);
    await cancel(h, holder.json.id as string);
  } finally {
    await h.close();
  }
});
