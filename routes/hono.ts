/**
 * The `Hono` every route file builds on: hono's HonoBase with its TrieRouter. hono's default
 * `Hono` routes through a SmartRouter, which at the first request builds a RegExpRouter from
 * deepstudio's routes, finds it cannot take them all and settles on the TrieRouter for good
 * (`app.router.name` is then "SmartRouter + TrieRouter"). Using the TrieRouter directly matches
 * the same way, without loading the RegExpRouter's modules at start-up or building and dropping
 * it during the first answer (docs/decisions/memory-targets.md, "Start-up without zod").
 */
import type { BlankEnv, BlankSchema, Env, Schema } from "hono/types";
import { HonoBase, type HonoOptions } from "hono/hono-base";
import { TrieRouter } from "hono/router/trie-router";

/** hono's `Hono` with the TrieRouter as its router (a given `options.router` still wins). */
export class Hono<
  E extends Env = BlankEnv,
  S extends Schema = BlankSchema,
  BasePath extends string = "/",
> extends HonoBase<E, S, BasePath> {
  constructor(options: HonoOptions<E> = {}) {
    super(options);
    this.router = options.router ?? new TrieRouter();
  }
}
