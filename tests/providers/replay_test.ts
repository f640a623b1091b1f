/**
 * The llama.cpp fake is proven against the real server: every request recorded in
 * tests/fixtures/transcripts/llamacpp/ is sent to the fake again and the answer compared with the
 * recording: the status, every header the recording shows (CORS and content types included), and
 * the body. Bodies without generated parts (errors, health, templates) must be the same bytes;
 * bodies with generated parts (completion text, ids, timestamps, timings, token counts, the
 * finish reason of random weights) must have the same structure: the same keys in the same order,
 * the same types, and every other value identical. A recorded exchange the test does not replay
 * must be listed in SKIPPED with the reason, so a new recording cannot be ignored by accident.
 */
import { assert, assertEquals } from "../assert.ts";
import { type FakeLlamaCpp, startFakeLlamaCpp } from "../fakes/llamacpp.ts";
import { llamaRecordings, type RecordedExchange } from "../fixtures/recordings.ts";

/** Exchanges not replayed, by `file | section | path`, with the reason. */
const SKIPPED: Record<string, string> = {
  "06-misc.txt | other endpoint families | /v1/responses":
    "the Responses API: deepstudio never calls it, the fake does not serve it",
  "06-misc.txt | other endpoint families | /v1/messages":
    "the Anthropic-style API: deepstudio never calls it, the fake does not serve it",
  "06-misc.txt | chat template rendering and tokenization (llama.cpp extensions) | /tokenize":
    "needs the Phi-3 tokenizer's ids; deepstudio never calls /tokenize",
};
/** Recordings of the --embeddings server (port 18235) belong to the Library's embedding fakes. */
const EMBEDDING_PORT = 18235;

/** Keys whose values depend on random weights, the clock or the tokenizer. */
const VOLATILE = new Set([
  "id",
  "created",
  "content",
  "text",
  "finish_reason",
  "timings",
  "usage",
  "n_prompt_tokens",
  "message",
]);

/** The value with generated parts blanked: structure, key order and fixed values stay. */
function skeleton(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => skeleton(v, key));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, VOLATILE.has(k) ? blank(v) : skeleton(v, k)]),
    );
  }
  if (key === "meta" || typeof value === "number") return typeof value;
  return value;
}

function blank(v: unknown): unknown {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, blank(x)]));
  }
  return v === null ? null : typeof v;
}

/** A body as comparable data: JSON, or SSE events (each JSON or `[DONE]`), or text. */
function comparable(body: string): unknown {
  const t = body.trim();
  if (t.startsWith("data: ")) {
    return t.split(/\n\n/).map((e) => {
      const data = e.replace(/^data: /, "");
      return data === "[DONE]" ? data : skeleton(JSON.parse(data));
    });
  }
  try {
    return skeleton(JSON.parse(t));
  } catch {
    return t;
  }
}

/**
 * A body as text with generated values blanked, for recordings the recorder cut short (a long
 * line ends mid-value): the fake's answer must start with the recorded prefix.
 */
function flattened(text: string): string {
  return text.replace(/"(id|content|text|finish_reason|message)":"(?:[^"\\]|\\.)*("|$)/g, '"$1":S')
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, "0");
}

function isCut(body: string): boolean {
  try {
    JSON.parse(body);
    return false;
  } catch {
    return !body.trim().startsWith("data: ");
  }
}

/** True when nothing in the recorded body is generated: it must come back byte for byte. */
function isFixed(body: string): boolean {
  return !/"(created|id|content|text|timings|n_prompt_tokens|created_at)"/.test(body);
}

function keyOf(x: RecordedExchange): string {
  return `${x.file} | ${x.section} | ${x.call?.path ?? "-"}`;
}

Deno.test("every recorded llama.cpp request gets the recorded answer from the fake", async () => {
  const main = await startFakeLlamaCpp();
  const keyed = await startFakeLlamaCpp({ apiKey: "sekret" });
  const fakes: Record<number, FakeLlamaCpp> = { 18234: main, 18242: keyed };
  const used = new Set<string>();
  const differences: string[] = [];
  /** Records a difference instead of stopping, so one run lists every divergence. */
  const same = (actual: unknown, expected: unknown, what: string) => {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) {
      differences.push(
        `${what}\n    fake:     ${a?.slice(0, 400)}\n    recorded: ${e?.slice(0, 400)}`,
      );
    }
  };
  let replayed = 0;
  try {
    for (const x of llamaRecordings()) {
      const where = `${x.file} § ${x.section}: ${x.command.slice(0, 120)}`;
      if (!x.call) continue; // a note about a request already replayed, not a request
      if (x.call.port === EMBEDDING_PORT) continue;
      if (SKIPPED[keyOf(x)]) {
        used.add(keyOf(x));
        continue;
      }
      const fake = fakes[x.call.port];
      assert(fake, `no fake for port ${x.call.port} (${where})`);
      const res = await fetch(`${fake.url}${x.call.path}`, {
        method: x.call.method,
        headers: x.call.headers,
        body: x.call.body,
      });
      const body = await res.text();
      replayed++;
      if (x.answer.status !== null) same(res.status, x.answer.status, `${where}: status`);
      for (const [name, value] of x.answer.headers) {
        if (["keep-alive", "transfer-encoding", "content-length"].includes(name)) continue;
        same(res.headers.get(name), value, `${where}: header ${name}`);
      }
      const recorded = x.answer.body;
      if (recorded === null || recorded === "") continue;
      if (isCut(recorded)) {
        const prefix = flattened(recorded);
        same(flattened(body).slice(0, prefix.length), prefix, `${where}: body (recorded prefix)`);
      } else if (isFixed(recorded)) same(body, recorded, `${where}: body bytes`);
      else same(comparable(body), comparable(recorded), `${where}: body structure`);
    }
    assertEquals(differences.join("\n"), "", "the fake differs from the recordings");
    assert(replayed >= 35, `only ${replayed} exchanges replayed`);
    for (const k of Object.keys(SKIPPED)) {
      assert(used.has(k), `SKIPPED entry matches nothing: ${k}`);
    }
  } finally {
    await main.close();
    await keyed.close();
  }
});

Deno.test("the skeleton comparison sees a changed key order, a missing key and a changed value", () => {
  const a = '{"choices":[{"finish_reason":"stop","index":0}],"object":"chat.completion"}';
  assertEquals(comparable(a), comparable(a.replace('"stop"', '"length"')), "volatile value");
  assert(
    JSON.stringify(comparable(a)) !==
      JSON.stringify(
        comparable('{"object":"chat.completion","choices":[{"finish_reason":"stop","index":0}]}'),
      ),
    "key order",
  );
  assert(
    JSON.stringify(comparable(a)) !== JSON.stringify(comparable(a.replace("chat.completion", "x"))),
    "fixed value",
  );
  assert(
    JSON.stringify(comparable(a)) !== JSON.stringify(comparable(a.replace(',"index":0', ""))),
    "missing key",
  );
});
