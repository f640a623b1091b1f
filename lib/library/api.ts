/**
 * Everything the Library's routes use, in one module that routes/library.ts imports on first
 * use: the Library pulls in SQLite and Node's path helpers, which the app does not load at
 * start-up (idle memory stays as it is while the Library is unused).
 */
export { libraryServiceFor } from "./for_app.ts";
export { searchLibrary } from "./search.ts";
export { PathError } from "./files.ts";
export { ExtractError } from "../extract/types.ts";
export { SafeFetchError } from "../net/safe_fetch.ts";
