/** A job's progress events at a cadence: a burst is one event now and one with its last counts. */
import { assertEquals } from "../assert.ts";
import { ProgressEvents, startingProgress } from "../../lib/library/progress.ts";
import type { Progress } from "../../lib/library/types.ts";

const fresh = (): Progress => ({ ...startingProgress(), docsTotal: 10 });

const EVERY_MS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("progress events: a burst of updates sends the first at once and the last counts once the cadence allows", async () => {
  const progress = fresh();
  const sent: Progress[] = [];
  let clock = 0;
  const events = new ProgressEvents(progress, (p) => sent.push(p), () => clock, 0, EVERY_MS);
  events.bytesTotal = 100;
  for (let i = 1; i <= 30; i++) {
    progress.chunksEmbedded = i;
    events.emit();
  }
  assertEquals(sent.map((p) => p.chunksEmbedded), [1]);
  clock = 2000;
  events.bytesDone = 50;
  await sleep(EVERY_MS * 3);
  // The held update carries the counts of when it went out, rates included.
  assertEquals(sent.map((p) => p.chunksEmbedded), [1, 30]);
  assertEquals([sent[1].chunksPerSecond, sent[1].etaSeconds], [15, 2]);
  // Quiet long enough: the next update goes at once again.
  progress.docsDone = 1;
  events.emit();
  assertEquals(sent.length, 3);
  events.stop();
});

Deno.test("progress events: flush sends the held counts now; stop drops them", async () => {
  const progress = fresh();
  const sent: Progress[] = [];
  const events = new ProgressEvents(progress, (p) => sent.push(p), () => 0, 0, EVERY_MS);
  events.emit();
  progress.docsDone = 4;
  events.emit();
  events.flushHeld();
  assertEquals(sent.map((p) => p.docsDone), [0, 4]);
  events.flushHeld(); // nothing held: nothing sent
  assertEquals(sent.length, 2);
  progress.docsDone = 5;
  events.emit(); // held (the last one was just sent)
  events.stop();
  await sleep(EVERY_MS * 3);
  assertEquals(sent.length, 2);
  // The job's last event goes out whatever the cadence, with the exact counts.
  progress.docsDone = 10;
  progress.state = "idle";
  events.flush();
  assertEquals(sent.at(-1)!.docsDone, 10);
  assertEquals(sent.at(-1)!.state, "idle");
});
