/**
 * Document bytes: uploads and fetched URLs are kept content-addressed under the Library's
 * directory (`files/<sha256>`), so a restart can resume indexing them and identical uploads are
 * stored once; folder documents are read where they are, and only under the configured roots.
 * Also the folder walk with include/exclude glob patterns.
 */
import { join, relative, resolve, sep } from "node:path";
import { SUPPORTED_EXTENSIONS } from "../extract/extract.ts";

/** SHA-256 of bytes, hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Content-addressed file store. */
export class FileStore {
  constructor(private dir: string) {}

  #path(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a content hash: ${hash}`);
    return join(this.dir, hash);
  }

  /** Writes the bytes (atomically: temp file then rename) unless already stored. */
  async put(hash: string, bytes: Uint8Array): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const path = this.#path(hash);
    try {
      await Deno.stat(path);
      return;
    } catch { /* not there yet */ }
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeFile(tmp, bytes, { mode: 0o600 });
    await Deno.rename(tmp, path);
  }

  get(hash: string): Promise<Uint8Array> {
    return Deno.readFile(this.#path(hash));
  }

  async remove(hash: string): Promise<void> {
    await Deno.remove(this.#path(hash)).catch(() => {});
  }
}

/** Why a server path was refused. */
export class PathError extends Error {
  constructor(message: string, readonly status: 400 | 403 | 404) {
    super(message);
    this.name = "PathError";
  }
}

/**
 * Resolves `path` (symlinks included) and checks it lies under one of `roots`; returns the real
 * path. A link that points outside a root is refused like a path outside it.
 */
export async function checkUnderRoots(path: string, roots: string[]): Promise<string> {
  if (roots.length === 0) {
    throw new PathError(
      "Folder import is off: start deepstudio with --library-roots DIR (or DEEPSTUDIO_LIBRARY_ROOTS) to allow folders under DIR",
      403,
    );
  }
  let real: string;
  try {
    real = await Deno.realPath(resolve(path));
  } catch {
    throw new PathError(`No such file or folder: ${path}`, 404);
  }
  for (const root of roots) {
    let realRoot: string;
    try {
      realRoot = await Deno.realPath(root);
    } catch {
      continue;
    }
    const rel = relative(realRoot, real);
    if (rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel))) {
      return real;
    }
  }
  throw new PathError(
    `${path} is outside the folders deepstudio may read (${
      roots.join(", ")
    }); add its folder to --library-roots`,
    403,
  );
}

/** A glob (`*`, `**`, `?`) as a regular expression over `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      re += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  // A pattern without a slash matches the file name anywhere (as .gitignore does).
  return new RegExp(glob.includes("/") ? `^${re}$` : `(?:^|/)${re}$`);
}

/** Files under `dir` the Library reads, filtered by include/exclude globs; sorted. */
export async function walkFolder(
  dir: string,
  include: string[],
  exclude: string[],
): Promise<string[]> {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  const out: string[] = [];
  const exts = new Set(SUPPORTED_EXTENSIONS);
  const walk = async (at: string) => {
    for await (const e of Deno.readDir(at)) {
      const full = join(at, e.name);
      const rel = relative(dir, full).split(sep).join("/");
      if (e.name.startsWith(".")) continue;
      if (exc.some((r) => r.test(rel))) continue;
      if (e.isDirectory) await walk(full);
      else if (e.isFile) {
        const ext = /\.([^.]+)$/.exec(e.name)?.[1]?.toLowerCase() ?? "";
        if (!exts.has(ext)) continue;
        if (inc.length && !inc.some((r) => r.test(rel))) continue;
        out.push(full);
      }
    }
  };
  await walk(dir);
  return out.sort();
}
