/**
 * A real HTTP(S) server on 127.0.0.1 with the pages the safe-fetch and read tests need, counting
 * requests per path so a test can prove a refused URL was never requested.
 */
export interface PageServer {
  url: string;
  port: number;
  hits: Map<string, number>;
  /** Host headers seen, in order. */
  hosts: string[];
  close(): Promise<void>;
}

/** Extra routes: path → handler. */
export type Routes = Record<string, (req: Request, srv: PageServer) => Response>;

const tlsDir = new URL("./tls/", import.meta.url);

/** The test CA (for `caCerts`) that signed the HTTPS server's certificate. */
export const TEST_CA = Deno.readTextFileSync(new URL("ca.pem", tlsDir));

/** Starts the server; `tls` serves HTTPS with the secure.example.test certificate. */
export function startPageServer(routes: Routes = {}, opts: { tls?: boolean } = {}): PageServer {
  const hits = new Map<string, number>();
  const hosts: string[] = [];
  const ac = new AbortController();
  const tls = opts.tls
    ? {
      cert: Deno.readTextFileSync(new URL("leaf.pem", tlsDir)),
      key: Deno.readTextFileSync(new URL("leaf.key", tlsDir)),
    }
    : {};
  // deno-lint-ignore prefer-const
  let srv: PageServer;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {}, ...tls },
    (req) => {
      const path = new URL(req.url).pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      hosts.push(req.headers.get("host") ?? "");
      const route = routes[path] ?? DEFAULT_ROUTES[path];
      return route ? route(req, srv) : new Response("not here", { status: 404 });
    },
  );
  const port = server.addr.port;
  srv = {
    url: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    hits,
    hosts,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
  return srv;
}

const HTML = "text/html; charset=utf-8";

const DEFAULT_ROUTES: Routes = {
  "/page": () =>
    new Response("<html><head><title>A page</title></head><body><p>Hello</p></body></html>", {
      headers: { "content-type": HTML },
    }),
  "/redirect": (req) =>
    new Response(null, {
      status: 302,
      headers: { location: new URL(req.url).searchParams.get("to") ?? "/page" },
    }),
  "/loop": () => new Response(null, { status: 301, headers: { location: "/loop" } }),
  "/image": () => new Response(new Uint8Array(16), { headers: { "content-type": "image/png" } }),
  "/big": () => {
    // 3 MiB streamed with no Content-Length: the cap must act while reading.
    let sent = 0;
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    return new Response(
      new ReadableStream({
        pull(c) {
          if (sent >= 3 * 1024 * 1024) return c.close();
          sent += chunk.byteLength;
          c.enqueue(chunk);
        },
      }),
      { headers: { "content-type": "text/plain" } },
    );
  },
  "/big-declared": () =>
    new Response("y".repeat(3 * 1024 * 1024), { headers: { "content-type": "text/plain" } }),
  "/slow": () =>
    new Response(
      // Sends a first byte, then nothing: the client's deadline must end it.
      new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("<html>")) }),
      { headers: { "content-type": HTML } },
    ),
  "/missing": () => new Response("gone", { status: 404 }),
};
