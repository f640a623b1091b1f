import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { serializeProps } from "../../lib/islands/island.ts";
import { renderDocument } from "../../lib/islands/render.ts";
import { testApp } from "../helpers.ts";
import { h } from "preact";

const HOSTILE = '</script><script>alert(1)</script><!-- \u2028 & "quotes" \'';

Deno.test("serialized props cannot close the script element or open a comment", () => {
  const text = serializeProps([{ s: HOSTILE }]);
  assertEquals(text.toLowerCase().includes("</script"), false);
  assertEquals(text.includes("<!--"), false);
  assertEquals(text.includes("\u2028"), false);
  assertEquals(JSON.parse(text), [{ s: HOSTILE }], "the value survives a round trip");
});

Deno.test("a page without islands ships no JavaScript", () => {
  const html = renderDocument("Plain", h("p", null, "hello"));
  assertEquals(html.includes("<script"), false);
  assertStringIncludes(html, "<p>hello</p>");
});

Deno.test("the settings page marks its island, serialises props once and links the hashed bundle", async () => {
  const t = await testApp();
  const res = await t.app.request("/settings");
  assertEquals(res.status, 200);
  const html = await res.text();
  assertEquals(html.match(/<ds-island /g)?.length, 1);
  assertStringIncludes(html, 'data-name="SettingsForm" data-props="0"');
  const src = html.match(/<script type="module" src="(\/static\/page-settings\.[0-9a-f]{12}\.js)"/)
    ?.[1];
  assert(src, "the bundle is linked with a content hash");
  const js = await t.app.request(src);
  assertEquals(js.status, 200);
  assertStringIncludes(js.headers.get("cache-control") ?? "", "immutable");
  assertStringIncludes(js.headers.get("content-type") ?? "", "javascript");
  const boot = html.match(/<script type="application\/json" id="ds-islands">(.*?)<\/script>/s)?.[1];
  assert(boot);
  assertEquals(JSON.parse(boot).length, 1);
  t.close();
});
