import { createHash, createHmac } from "node:crypto";
import { assert, assertEquals } from "../assert.ts";
import {
  constantTimeEqual,
  hmacSha256,
  sha256,
  toBase64Url,
  toHex,
} from "../../lib/http/sha256.ts";

Deno.test("SHA-256 matches the FIPS 180-4 examples, including multi-block and padding edges", () => {
  assertEquals(
    toHex(sha256("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assertEquals(
    toHex(sha256("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(
    toHex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assertEquals(
    toHex(sha256("a".repeat(1_000_000))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

Deno.test("SHA-256 and HMAC agree with node:crypto on every length around the block size", () => {
  for (let n = 0; n < 200; n++) {
    const text = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7 + n) % 90)))
      .join("") + (n % 3 === 0 ? "é✓" : "");
    assertEquals(toHex(sha256(text)), createHash("sha256").update(text, "utf8").digest("hex"));
    const key = "k".repeat(n % 130);
    assertEquals(
      toBase64Url(hmacSha256(key, text)),
      createHmac("sha256", key).update(text).digest("base64url"),
      `n=${n}`,
    );
  }
});

Deno.test("HMAC-SHA256 matches RFC 4231 test cases 1 and 6 (long key)", () => {
  const key1 = new Uint8Array(20).fill(0x0b);
  assertEquals(
    toHex(hmacSha256(key1, "Hi There")),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  const key6 = new Uint8Array(131).fill(0xaa);
  assertEquals(
    toHex(hmacSha256(key6, "Test Using Larger Than Block-Size Key - Hash Key First")),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  );
});

Deno.test("constantTimeEqual compares length and every byte", () => {
  assert(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert(!constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert(!constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])));
});
