import { assertEquals } from "../assert.ts";
import { defaultSettings, envName, parseSetting } from "../../lib/settings/schema.ts";

Deno.test("search settings: safe defaults and the documented SearXNG URL", () => {
  const d = defaultSettings();
  assertEquals(d["search.engine"], "none");
  assertEquals(d["search.searxng.url"], "http://localhost:8080");
  assertEquals(d["search.allow_private_urls"], false);
  assertEquals(d["search.model_fallback"], false);
  assertEquals(d["search.max_page_kib"], 2048);
  assertEquals(d["search.library.collections"], "");
  assertEquals(envName("search.library.collections"), "LDR_SEARCH_LIBRARY_COLLECTIONS");
  assertEquals(envName("search.allow_private_urls"), "LDR_SEARCH_ALLOW_PRIVATE_URLS");
  assertEquals(parseSetting("search.engine", "bing").ok, false);
  const url = parseSetting("search.searxng.url", "http://searx.local:8888/");
  assertEquals(url.ok && url.value, "http://searx.local:8888");
});
