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

/** One client's CONNECT proxy: who may use it, the one authority it opens, what to close. */
interface Tunnel {
  target: PinnedTarget;
  /** `Proxy-Authorization` a request must carry (lowercased `basic …` of the random token). */
  auth: string;
  /** The only CONNECT authority served (`host:port`, IPv6 in brackets), lowercased. */
  authority: string;
  /** Open connections, both sides: closed with the client. */
  conns: Set<Deno.Conn>;
}

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
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  void acceptLoop(listener, {
    target,
    auth: `basic ${btoa(`${token}:x`)}`.toLowerCase(),
    authority: `${host}:${target.port}`.toLowerCase(),
    conns,
  });
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

async function acceptLoop(listener: Deno.Listener, t: Tunnel): Promise<void> {
  try {
    for await (const conn of listener) {
      t.conns.add(conn);
      void serveConnect(conn, t);
    }
  } catch { /* listener closed */ }
}

/** Serves one CONNECT: to the pinned address for the client's own request, else 403. */
async function serveConnect(conn: Deno.Conn, t: Tunnel): Promise<void> {
  const { target, conns } = t;
  try {
    const head = await readHead(conn);
    const lines = head.split("\r\n");
    const [method, authority] = lines[0].split(" ");
    const auth = lines.find((l) => l.toLowerCase().startsWith("proxy-authorization:"));
    const authOk = auth !== undefined &&
      auth.slice(auth.indexOf(":") + 1).trim().toLowerCase() === t.auth;
    if (method !== "CONNECT" || !authOk || authority?.toLowerCase() !== t.authority) {
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
