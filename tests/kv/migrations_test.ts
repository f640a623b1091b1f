import { assertEquals, assertRejects } from "../assert.ts";
import { migrate, type Migration } from "../../lib/kv/migrations.ts";
import { SCHEMA_VERSION_KEY } from "../../lib/kv/keys.ts";

Deno.test("migrations run once, in order, and record the version", async () => {
  const kv = await Deno.openKv(":memory:");
  const ran: number[] = [];
  const step = (n: number): Migration => () => {
    ran.push(n);
    return Promise.resolve();
  };
  const steps = [step(1), step(2)];
  assertEquals(await migrate(kv, steps), 2);
  assertEquals(await migrate(kv, steps), 2);
  assertEquals(ran, [1, 2]);
  assertEquals((await kv.get(SCHEMA_VERSION_KEY)).value, 2);
  kv.close();
});

Deno.test("data from a newer version is refused with a clear message", async () => {
  const kv = await Deno.openKv(":memory:");
  await kv.set(SCHEMA_VERSION_KEY, 99);
  await assertRejects(() => migrate(kv), Error, "newer deepstudio");
  kv.close();
});
