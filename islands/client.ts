/**
 * Browser entry (the full bundle, with every island): hydrates every server-rendered island with
 * the props the server serialised. Page bundles (islands/pages/*.ts) call the same `boot` with
 * only the islands their page uses, so a page ships only its own code.
 */
import { ISLANDS } from "./registry.ts";
import { boot } from "./boot.ts";

boot(ISLANDS);
