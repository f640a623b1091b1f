/**
 * Small readers for the two Docker files, enough for tests to check them against the code: Docker
 * can't run on these machines, so consistency is what can be proven. Each reader understands the
 * subset the project's files use and throws on anything else instead of guessing.
 */

/** One Dockerfile instruction with continuation lines joined. */
export interface Instruction {
  name: string;
  args: string;
}

/** Reads a Dockerfile into instructions (comments dropped, `\` continuations joined). */
export function readDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    const m = full.match(/^([A-Za-z]+)\s+(.*)$/);
    if (!m) throw new Error(`Unreadable Dockerfile line: ${full}`);
    out.push({ name: m[1].toUpperCase(), args: m[2].trim() });
  }
  if (pending) throw new Error("Dockerfile ends inside a continuation");
  return out;
}

/** `ENV A=1 B=2` pairs of every ENV instruction (the `ENV A 1` legacy form is refused). */
export function dockerEnv(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions.filter((i) => i.name === "ENV")) {
    for (const pair of i.args.split(/\s+/)) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new Error(`ENV must use NAME=value: ${i.args}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, "$1");
    }
  }
  return env;
}

/** The exec-form (JSON array) command of CMD, or of HEALTHCHECK after its options. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf("["));
  const parsed = JSON.parse(json);
  if (!Array.isArray(parsed) || parsed.some((a) => typeof a !== "string")) {
    throw new Error(`Not an exec-form command: ${args}`);
  }
  return parsed;
}

/** What the tests read from one compose service. */
export interface ComposeService {
  /** `environment:` as written, `NAME=value` items (commented-out items excluded). */
  environment: Record<string, string>;
  ports: string[];
  extraHosts: string[];
  volumes: string[];
  /** Every other key with its inline scalar (`build: .`), for completeness checks. */
  scalars: Record<string, string>;
}

/** The compose file: services and the top-level named volumes. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: string[];
}

function unquote(s: string): string {
  const t = s.trim();
  return /^".*"$|^'.*'$/.test(t) ? t.slice(1, -1) : t;
}

/**
 * Reads the block-style compose subset deepstudio's file uses: `services.<name>` with scalar
 * keys and block lists (`ports`, `extra_hosts`, `environment` as `- NAME=value`, `volumes`), and
 * top-level `volumes`. Flow collections and maps under `environment` are refused.
 */
export function readCompose(text: string): ComposeFile {
  const file: ComposeFile = { services: {}, volumes: [] };
  let top = "";
  let service: ComposeService | null = null;
  let listKey = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+$/, "");
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const indent = line.length - line.trimStart().length;
    if (/[{}]|^\s*\[/.test(trimmed) && !trimmed.includes("${")) {
      throw new Error(`Flow-style YAML is not supported here: ${trimmed}`);
    }
    if (indent === 0) {
      const m = trimmed.match(/^([\w-]+):\s*$/);
      if (!m) throw new Error(`Unexpected top-level line: ${trimmed}`);
      top = m[1];
      service = null;
      continue;
    }
    if (top === "volumes") {
      const m = trimmed.match(/^([\w.-]+):\s*$/);
      if (indent !== 2 || !m) throw new Error(`Unexpected volumes line: ${trimmed}`);
      file.volumes.push(m[1]);
      continue;
    }
    if (top !== "services") throw new Error(`Unsupported top-level key ${top}`);
    if (indent === 2) {
      const m = trimmed.match(/^([\w.-]+):\s*$/);
      if (!m) throw new Error(`Unexpected service line: ${trimmed}`);
      service = { environment: {}, ports: [], extraHosts: [], volumes: [], scalars: {} };
      file.services[m[1]] = service;
      continue;
    }
    if (!service) throw new Error(`Line outside a service: ${trimmed}`);
    if (indent === 4) {
      const m = trimmed.match(/^([\w.-]+):\s*(.*)$/);
      if (!m) throw new Error(`Unexpected service key line: ${trimmed}`);
      if (m[2] === "") listKey = m[1];
      else {
        listKey = "";
        service.scalars[m[1]] = unquote(m[2]);
      }
      continue;
    }
    const item = trimmed.match(/^-\s+(.*)$/);
    if (indent !== 6 || !item || !listKey) throw new Error(`Unexpected line: ${trimmed}`);
    const value = unquote(item[1]);
    if (listKey === "environment") {
      const eq = value.indexOf("=");
      if (eq <= 0) throw new Error(`environment items must be NAME=value: ${value}`);
      service.environment[value.slice(0, eq)] = value.slice(eq + 1);
    } else if (listKey === "ports") service.ports.push(value);
    else if (listKey === "extra_hosts") service.extraHosts.push(value);
    else if (listKey === "volumes") service.volumes.push(value);
    else throw new Error(`Unsupported list ${listKey}`);
  }
  return file;
}

/**
 * Docker's `${NAME:?message}` and `${NAME:-default}` interpolation, resolved against `vars`;
 * a missing required variable throws with compose's message, as `docker compose up` would stop.
 */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?:(:\?|:-)([^}]*))?\}/g, (_, name, op, arg) => {
    const v = vars[name];
    if (v !== undefined && v !== "") return v;
    if (op === ":?") throw new Error(`required variable ${name} is missing a value: ${arg}`);
    return op === ":-" ? arg : "";
  });
}

/** Whether a `.dockerignore` pattern (the forms this project uses) excludes `path`. */
export function dockerIgnored(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith("!");
    const pattern = (negate ? raw.slice(1) : raw).replace(/\/$/, "");
    const re = new RegExp(
      "^" +
        pattern.split("**/").map((part) =>
          part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*").replaceAll(
            "?",
            "[^/]",
          )
        ).join("(?:.*/)?") + "(?:/.*)?$",
    );
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

/** Reads `.dockerignore` into patterns. */
export function readDockerignore(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}
