/**
 * IP address classification for the SSRF guard. Which ranges are refused, and why, is written
 * down in docs/safe_fetching.md; every form an address can take on the wire is handled here:
 * dotted IPv4, every IPv6 spelling (compressed, with a trailing dotted quad), and the IPv6 forms
 * that carry an IPv4 address inside (mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96,
 * 6to4 2002::/16), which are judged by the IPv4 address they carry.
 */

/** Why an address may not be fetched, or "public" when it may. */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link_local"
  | "unspecified"
  | "shared"
  | "unique_local"
  | "multicast"
  | "reserved";

/** Human wording of each refused class, for messages. */
export const ADDRESS_CLASS_LABELS: Record<AddressClass, string> = {
  public: "a public address",
  loopback: "a loopback address (this machine)",
  private: "a private network address",
  link_local: "a link-local address (incl. cloud metadata 169.254.169.254)",
  unspecified: "the unspecified address",
  shared: "a carrier-grade NAT address (100.64.0.0/10)",
  unique_local: "an IPv6 unique local address (fc00::/7)",
  multicast: "a multicast address",
  reserved: "a reserved address",
};

/** Parses dotted-quad IPv4 ("1.2.3.4" only; URL parsing already normalised other spellings). */
export function parseIPv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Parses any IPv6 spelling into eight 16-bit groups (a zone id "%eth0" is ignored). */
export function parseIPv6(text: string): number[] | null {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(":")) return null;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    // A trailing dotted quad ("::ffff:127.0.0.1") is two groups written in IPv4 notation.
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hex(v4[0], v4[1])}:${hex(v4[2], v4[3])}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (h: string): number[] | null => {
    if (h === "") return [];
    const groups: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const zeros = 8 - head.length - rest.length;
  if (zeros < 1) return null;
  return [...head, ...new Array(zeros).fill(0), ...rest];
}

function classifyV4(a: number[]): AddressClass {
  const [x, y] = a;
  if (x === 0) return a.every((n) => n === 0) ? "unspecified" : "reserved";
  if (x === 127) return "loopback";
  if (x === 10) return "private";
  if (x === 172 && y >= 16 && y <= 31) return "private";
  if (x === 192 && y === 168) return "private";
  if (x === 169 && y === 254) return "link_local";
  if (x === 100 && y >= 64 && y <= 127) return "shared";
  if (x === 192 && y === 0 && a[2] === 0) return "reserved"; // IETF protocol assignments
  if (x === 198 && (y === 18 || y === 19)) return "reserved"; // benchmarking
  if (x >= 224 && x <= 239) return "multicast";
  if (x >= 240) return "reserved"; // incl. broadcast 255.255.255.255
  return "public";
}

function v4From(g: number[], at: number): number[] {
  return [g[at] >> 8, g[at] & 255, g[at + 1] >> 8, g[at + 1] & 255];
}

function classifyV6(g: number[]): AddressClass {
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (g.every((x) => x === 0)) return "unspecified";
  if (zeroTo(7) && g[7] === 1) return "loopback";
  if (zeroTo(5) && g[5] === 0xffff) return classifyV4(v4From(g, 6)); // IPv4-mapped
  if (zeroTo(6)) return classifyV4(v4From(g, 6)); // IPv4-compatible (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return classifyV4(v4From(g, 6)); // NAT64
  }
  if (g[0] === 0x2002) return classifyV4(v4From(g, 1)); // 6to4
  if ((g[0] & 0xfe00) === 0xfc00) return "unique_local";
  if ((g[0] & 0xffc0) === 0xfe80) return "link_local";
  if ((g[0] & 0xffc0) === 0xfec0) return "private"; // deprecated site-local
  if ((g[0] & 0xff00) === 0xff00) return "multicast";
  if (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0)) return "reserved"; // 100::/64
  return "public";
}

/** Classifies an IP literal; null when `text` is not an IP address (a host name). */
export function classifyAddress(text: string): AddressClass | null {
  const v4 = parseIPv4(text);
  if (v4) return classifyV4(v4);
  const v6 = parseIPv6(text);
  if (v6) return classifyV6(v6);
  return null;
}
