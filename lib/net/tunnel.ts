/**
 * Connect-to-the-checked-address for fetch. `fetch` resolves host names itself, so a host that
 * resolved to a public address when `safe_fetch.ts` checked it could resolve to 127.0.0.1 a
 * millisecond later (DNS rebinding). Deno's `createHttpClient` can route a request through a
 * proxy; this module makes that proxy ours: plain HTTP goes over Deno's `tcp` transport straight
 * to the checked address, HTTPS goes through a one-request CONNECT tunnel on 127.0.0.1 that dials
 * the checked address, so TLS still verifies the certificate against the URL's host name (SNI).
 */

/** The address a request must reach, already checked by the caller. */
export interface PinnedTarget {
  /** The URL's host name (what CONNECT asks for, what TLS verifies). */
  host: string;
  port: number;
  /** The resolved, checked IP address to dial. */
  address: string;
  https: boolean;
}

/** An HTTP client bound to one checked address; `close()` releases it and its tunnel. */
export interface PinnedClient {
  client: Deno.HttpClient;
  close(): void;
}

const MAX_HEAD = 8192;

/** Builds a client whose every connection goes to `target.address`, and only there. */
export function pinnedClient(target: PinnedTarget, caCerts?: string[]): PinnedClient {
  if (!target.https) {
    const client = Deno.createHttpClient({
      caCerts,
      // The tcp transport wants IPv6 addresses in brackets.
      proxy: {
        transport: "tcp",
        hostname: target.address.includes(":") ? `[${target.address}]` : target.address,
        port: target.port,
      },
    });
    return { client, close: () => client.close() };
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const token = crypto.randomUUID();
  const conns = new Set<Deno.Conn>();
  void acceptLoop(listener, token, target, conns);
  const { port } = listener.addr as Deno.NetAddr;
  const client = Deno.createHttpClient({
    caCerts,
    proxy: { url: `http://127.0.0.1:${port}`, basicAuth: { username: token, password: "x" } },
  });
  let closed = false;
  return {
    client,
    close() {
      if (closed) return;
      closed = true;
      client.close();
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const c of conns) closeQuietly(c);
      conns.clear();
    },
  };
}

async function acceptLoop(
  listener: Deno.Listener,
  token: string,
  target: PinnedTarget,
  conns: Set<Deno.Conn>,
): Promise<void> {
  try {
    for await (const conn of listener) {
      conns.add(conn);
      void tunnel(conn, token, target, conns);
    }
  } catch { /* listener closed */ }
}

async function tunnel(
  conn: Deno.Conn,
  token: string,
  target: PinnedTarget,
  conns: Set<Deno.Conn>,
): Promise<void> {
  try {
    const head = await readHead(conn);
    const expectedAuth = `basic ${btoa(`${token}:x`)}`.toLowerCase();
    const lines = head.split("\r\n");
    const [method, authority] = lines[0].split(" ");
    const auth = lines.find((l) => l.toLowerCase().startsWith("proxy-authorization:"));
    const authOk = auth !== undefined &&
      auth.slice(auth.indexOf(":") + 1).trim().toLowerCase() === expectedAuth;
    const wanted = `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
    if (method !== "CONNECT" || !authOk || authority?.toLowerCase() !== wanted.toLowerCase()) {
      await conn.write(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\n\r\n"));
      closeQuietly(conn);
      return;
    }
    const upstream = await Deno.connect({ hostname: target.address, port: target.port });
    conns.add(upstream);
    await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
    await Promise.allSettled([
      conn.readable.pipeTo(upstream.writable),
      upstream.readable.pipeTo(conn.writable),
    ]);
  } catch {
    // The fetch that used this tunnel sees the broken connection and reports it.
  } finally {
    closeQuietly(conn);
  }
}

async function readHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(MAX_HEAD);
  let used = 0;
  while (used < MAX_HEAD) {
    // Read one byte at a time so nothing after the head (the TLS ClientHello) is consumed.
    const n = await conn.read(buf.subarray(used, used + 1));
    if (n === null) break;
    used += n;
    if (
      used >= 4 && buf[used - 4] === 13 && buf[used - 3] === 10 && buf[used - 2] === 13 &&
      buf[used - 1] === 10
    ) break;
  }
  return new TextDecoder().decode(buf.subarray(0, used));
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
