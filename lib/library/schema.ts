/**
 * The shapes the Library's API accepts (zod), shared by routes/library.ts and the OpenAPI
 * document.
 */
import { z } from "zod";
import { PROVIDER_IDS } from "../settings/schema.ts";

const name = z.string().trim().min(1, "a name is needed").max(200);
export const CreateCollection = z.object({
  name,
  provider: z.enum(PROVIDER_IDS).optional(),
  model: z.string().trim().min(1).max(300).optional(),
}).strict();
export const PatchCollection = z.object({
  name: name.optional(),
  /** "indexing" resumes a paused collection. */
  state: z.literal("indexing").optional(),
}).strict();
export const Reindex = z.object({
  provider: z.enum(PROVIDER_IDS).optional(),
  model: z.string().trim().min(1).max(300).optional(),
}).strict();
export const AddDocumentJson = z.union([
  z.object({
    path: z.string().min(1).max(4096),
    include: z.array(z.string().max(200)).max(50).optional(),
    exclude: z.array(z.string().max(200)).max(50).optional(),
  }).strict(),
  z.object({ url: z.string().url().max(4096) }).strict(),
]);
export const SearchQuery = z.object({
  q: z.string().trim().min(1, "say what to search for").max(2000),
  collections: z.string().max(4000).optional(),
  k: z.coerce.number().int().min(1).max(100).optional(),
});
