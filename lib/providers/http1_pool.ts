/**
 * Idle keep-alive connections of the raw upstream client (lib/providers/http1_client.ts), so a
 * stream does not pay a TCP connect (and leave a socket in TIME_WAIT) before its first token.
 * A connection comes back only after a response read to its exact end; it waits at most
 * `idleMs` (shorter than the usual 5 s keep-alive timeout of servers), and since the server may
 * still close it first, the client retries a request once on a fresh connection when a reused
 * one ends before any response byte. Everything idle closes at `shutdown`.
 */

import { after } from "../timer.ts";

/** Idle connections by `host:port`. */
export interface ConnPool {
  /** An idle connection to `key`, or null. */
  take(key: string): Deno.TcpConn | null;
  /** Keeps `conn` for the next request to `key` (or closes it: shut down, pool full). */
  give(key: string, conn: Deno.TcpConn): void;
}

/** Idle connections kept per upstream. */
const MAX_IDLE = 32;

/**
 * A pool whose connections close after `idleMs` unused, and all of them at `shutdown`. The idle
 * timers go on the process's one timer wheel (lib/timer.ts), not `setTimeout`: the /v1 path loads
 * no Node timers module, and an idle connection does not keep the process alive.
 */
export function createConnPool(opts: { idleMs: number; shutdown: AbortSignal }): ConnPool {
  const idle = new Map<string, { conn: Deno.TcpConn; cancel: () => void }[]>();
  const closeQuietly = (conn: Deno.TcpConn) => {
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  opts.shutdown.addEventListener("abort", () => {
    for (const list of idle.values()) {
      for (const { conn, cancel } of list) {
        cancel();
        closeQuietly(conn);
      }
    }
    idle.clear();
  }, { once: true });

  return {
    take(key) {
      const entry = idle.get(key)?.pop(); // the most recent: the least likely to be closed
      if (!entry) return null;
      entry.cancel();
      return entry.conn;
    },
    give(key, conn) {
      const list = idle.get(key) ?? [];
      if (opts.shutdown.aborted || list.length >= MAX_IDLE) return closeQuietly(conn);
      const entry = {
        conn,
        cancel: after(opts.idleMs, () => {
          const i = list.indexOf(entry);
          if (i !== -1) list.splice(i, 1);
          closeQuietly(conn);
        }),
      };
      list.push(entry);
      idle.set(key, list);
    },
  };
}
