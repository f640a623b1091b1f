import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { type FetchFailureKind, safeFetch, SafeFetchError } from "../../lib/net/safe_fetch.ts";
import { startPageServer, TEST_CA } from "./page_server.ts";

async function failureOf(p: Promise<unknown>): Promise<SafeFetchError["failure"]> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SafeFetchError) return err.failure;
    throw err;
  }
  throw new Error("expected a SafeFetchError");
}

async function expectKind(p: Promise<unknown>, kind: FetchFailureKind) {
  const f = await failureOf(p);
  assertEquals(f.kind, kind, f.message);
  assert(f.hint.length > 0 || kind === "cancelled");
  return f;
}

/** Names only this resolver knows: the system resolver cannot have answered them. */
const mapTo = (addr: string) => (host: string) =>
  host.endsWith(".example.test") ? Promise.resolve([addr]) : Promise.reject(new Error("NXDOMAIN"));

Deno.test("safeFetch: loopback pages are refused by default and never requested", async () => {
  const srv = startPageServer();
  try {
    for (
      const url of [
        `${srv.url}/page`,
        `http://localhost:${srv.port}/page`,
        `http://app.localhost:${srv.port}/page`,
        `http://[::1]:${srv.port}/page`,
        `http://[::ffff:127.0.0.1]:${srv.port}/page`,
        `http://0x7f.0.0.1:${srv.port}/page`,
        `http://2130706433:${srv.port}/page`,
        `http://0.0.0.0:${srv.port}/page`,
      ]
    ) {
      const f = await expectKind(safeFetch(url), "blocked");
      assertStringIncludes(f.hint, "search.allow_private_urls");
    }
    const viaName = await expectKind(
      safeFetch(`http://rebind.example.test:${srv.port}/page`, { resolve: mapTo("127.0.0.1") }),
      "blocked",
    );
    assertEquals(viaName.address, "127.0.0.1");
    // A name with one public and one private answer is refused too.
    await expectKind(
      safeFetch(`http://mixed.example.test:${srv.port}/page`, {
        resolve: () => Promise.resolve(["93.184.216.34", "10.0.0.5"]),
      }),
      "blocked",
    );
    assertEquals(srv.hits.get("/page"), undefined);
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: allowed private pages are read, with type, charset and final URL", async () => {
  const srv = startPageServer();
  try {
    const page = await safeFetch(`${srv.url}/redirect?to=/page`, { allowPrivate: true });
    assertEquals(page.status, 200);
    assertEquals(page.contentType, "text/html");
    assertEquals(page.charset, "utf-8");
    assertEquals(page.url, `${srv.url}/page`);
    assertEquals(page.redirects, [`${srv.url}/page`]);
    assertStringIncludes(new TextDecoder().decode(page.bytes), "<title>A page</title>");
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: connects to the checked address, not a second lookup", async () => {
  const srv = startPageServer();
  try {
    // pinned.example.test exists only in this resolver; if fetch looked the name up again the
    // request could not reach the server at all.
    const page = await safeFetch(`http://pinned.example.test:${srv.port}/page`, {
      resolve: mapTo("127.0.0.1"),
      allowHosts: ["pinned.example.test"],
    });
    assertEquals(page.address, "127.0.0.1");
    assertEquals(srv.hosts.at(-1), `pinned.example.test:${srv.port}`);
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: HTTPS to the checked address still verifies the certificate's name", async () => {
  const srv = startPageServer({}, { tls: true });
  try {
    const ok = await safeFetch(`https://secure.example.test:${srv.port}/page`, {
      resolve: mapTo("127.0.0.1"),
      allowHosts: ["secure.example.test"],
      caCerts: [TEST_CA],
    });
    assertStringIncludes(new TextDecoder().decode(ok.bytes), "A page");
    assertEquals(ok.address, "127.0.0.1");
    // Same address, a name the certificate does not cover: TLS must refuse.
    await expectKind(
      safeFetch(`https://other.example.test:${srv.port}/page`, {
        resolve: mapTo("127.0.0.1"),
        allowHosts: ["other.example.test"],
        caCerts: [TEST_CA],
      }),
      "connection",
    );
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: a redirect to a private address is refused before it is followed", async () => {
  const srv = startPageServer();
  try {
    const opts = { resolve: mapTo("127.0.0.1"), allowHosts: ["public.example.test"] };
    const first = `http://public.example.test:${srv.port}`;
    for (
      const to of [
        `${srv.url}/page`,
        `http://internal.example.test:${srv.port}/page`,
        `http://169.254.169.254/latest/meta-data/`,
        `http://[::1]:${srv.port}/page`,
      ]
    ) {
      const f = await expectKind(
        safeFetch(`${first}/redirect?to=${encodeURIComponent(to)}`, opts),
        "blocked",
      );
      assertEquals(f.url, new URL(to).href);
    }
    assertEquals(srv.hits.get("/page"), undefined);
    assertEquals(srv.hits.get("/redirect"), 4);
    // The allowed host redirecting to itself is followed.
    const ok = await safeFetch(`${first}/redirect?to=/page`, opts);
    assertEquals(ok.url, `${first}/page`);
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: at most 5 redirects", async () => {
  const srv = startPageServer();
  try {
    await expectKind(safeFetch(`${srv.url}/loop`, { allowPrivate: true }), "too_many_redirects");
    assertEquals(srv.hits.get("/loop"), 6);
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: the size cap acts while streaming and on a declared length", async () => {
  const srv = startPageServer();
  try {
    const f = await expectKind(safeFetch(`${srv.url}/big`, { allowPrivate: true }), "too_large");
    assertStringIncludes(f.message, "2048 KiB");
    await expectKind(safeFetch(`${srv.url}/big-declared`, { allowPrivate: true }), "too_large");
    const small = await safeFetch(`${srv.url}/big`, {
      allowPrivate: true,
      maxBytes: 4 * 1024 * 1024,
    });
    assertEquals(small.bytes.byteLength, 3 * 1024 * 1024);
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: content type, HTTP status, timeout and cancel are typed", async () => {
  const srv = startPageServer();
  try {
    const allow = { allowPrivate: true };
    await expectKind(safeFetch(`${srv.url}/image`, allow), "unsupported_type");
    const missing = await expectKind(safeFetch(`${srv.url}/missing`, allow), "http_status");
    assertEquals(missing.status, 404);
    await expectKind(safeFetch(`${srv.url}/slow`, { ...allow, timeoutMs: 300 }), "timeout");
    const ac = new AbortController();
    const pending = safeFetch(`${srv.url}/slow`, { ...allow, signal: ac.signal });
    queueMicrotask(() => ac.abort());
    await expectKind(pending, "cancelled");
  } finally {
    await srv.close();
  }
});

Deno.test("safeFetch: bad URLs and unknown names are typed errors", async () => {
  for (
    const url of ["file:///etc/passwd", "ftp://example.org/", "not a url", "http://u:p@x.org/"]
  ) {
    await expectKind(safeFetch(url), "invalid_url");
  }
  await expectKind(
    safeFetch("http://nowhere.invalid/", { resolve: () => Promise.reject(new Error("NXDOMAIN")) }),
    "dns",
  );
  await assertRejects(() => safeFetch("gopher://x/"), SafeFetchError);
});
