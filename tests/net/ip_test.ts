import { assertEquals } from "../assert.ts";
import { classifyAddress, parseIPv6 } from "../../lib/net/ip.ts";

const CASES: [string, string | null][] = [
  ["8.8.8.8", "public"],
  ["93.184.216.34", "public"],
  ["127.0.0.1", "loopback"],
  ["127.255.1.2", "loopback"],
  ["10.1.2.3", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["172.32.0.1", "public"],
  ["192.168.1.1", "private"],
  ["169.254.169.254", "link_local"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "reserved"],
  ["100.64.0.1", "shared"],
  ["100.128.0.1", "public"],
  ["224.0.0.1", "multicast"],
  ["255.255.255.255", "reserved"],
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback"],
  ["[::1]", "loopback"],
  ["fc00::1", "unique_local"],
  ["fd12:3456::1", "unique_local"],
  ["fe80::1%eth0", "link_local"],
  ["ff02::1", "multicast"],
  ["2606:4700:4700::1111", "public"],
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::ffff:10.0.0.1", "private"],
  ["::ffff:8.8.8.8", "public"],
  ["::127.0.0.1", "loopback"],
  ["64:ff9b::169.254.169.254", "link_local"],
  ["64:ff9b::808:808", "public"],
  ["2002:7f00:1::", "loopback"],
  ["2002:c0a8:101::1", "private"],
  ["example.org", null],
  ["1.2.3", null],
  ["1.2.3.256", null],
  ["1:2:3:4:5:6:7:8:9", null],
  ["1::2::3", null],
];

Deno.test("classifyAddress: every refused range and the IPv6 forms that carry IPv4", () => {
  for (const [addr, want] of CASES) assertEquals(classifyAddress(addr), want, addr);
});

Deno.test("parseIPv6: compressed, full and dotted-quad spellings agree", () => {
  assertEquals(parseIPv6("::ffff:1.2.3.4"), [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
  assertEquals(parseIPv6("1:2:3:4:5:6:7:8"), [1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals(parseIPv6("1::8"), [1, 0, 0, 0, 0, 0, 0, 8]);
  assertEquals(parseIPv6("1:2:3:4:5:6:7::"), [1, 2, 3, 4, 5, 6, 7, 0]);
});
