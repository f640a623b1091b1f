/**
 * One of two processes writing flat out to the same KV file (run by locked_retry_test.ts):
 * `--raw` uses Deno's store as it is, otherwise the app's `openDataKv`. Prints one JSON line.
 */
import { openDataKv } from "../../lib/kv/open.ts";

const [path, count, raw] = [Deno.args[0], Number(Deno.args[1]), Deno.args[2] === "--raw"];
const kv = raw ? await Deno.openKv(path) : await openDataKv(path);
let ok = 0, conflicts = 0, errors = 0;
let first = "";
for (let i = 0; i < count;) {
  try {
    const rev = await kv.get<bigint>(["rev"]);
    const res = await kv.atomic().check(rev).set(["rev"], (rev.value ?? 0n) + 1n).commit();
    if (res.ok) {
      ok++;
      i++;
      await kv.set(["by", Deno.pid, i], i);
    } else conflicts++;
  } catch (e) {
    errors++;
    first ||= String(e);
    i++;
  }
}
kv.close();
console.log(JSON.stringify({ ok, conflicts, errors, first }));
