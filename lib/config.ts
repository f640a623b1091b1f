/**
 * Process options (flags and env, not KV settings): where to listen, where the data lives, who
 * may connect. Parsed once in main.ts; everything else receives the resulting object.
 */

/** The process configuration. */
export interface AppConfig {
  host: string;
  port: number;
  /** KV path, or ":memory:". */
  kvPath: string;
  /** Extra Host header values accepted besides loopback names (DNS-rebinding defence). */
  allowedHosts: string[];
  /** Required when binding beyond loopback; then the API needs it as a bearer token. */
  accessToken: string;
  /** True when running inside a container (Docker, Podman): loopback then means the container. */
  inContainer: boolean;
  /**
   * Folders the Library may import from (absolute, resolved); empty: folder import is off.
   * Nothing outside them is ever read.
   */
  libraryRoots?: string[];
  /** Where the Library keeps its index and uploaded files; default: beside the KV file. */
  libraryDir?: string;
  /** How often a paused collection asks whether its provider is back, ms (default 5 000). */
  libraryResumePollMs?: number;
  /** SSE heartbeat interval in ms (default 15 000); tests shorten it to see heartbeats. */
  sseHeartbeatMs?: number;
  /** Lease of this process on the research runs it owns, in ms (default 15 000); tests shorten it. */
  runLeaseMs?: number;
  /** Time a request body has to arrive whole, in ms (default 60 000; lib/http/body.ts). */
  bodyTimeoutMs?: number;
}

/** One flag: its env fallback and help text; the help screen and docs are built from this. */
export const FLAGS = [
  {
    flag: "--host",
    env: "DEEPSTUDIO_HOST",
    arg: "ADDR",
    help: "Address to listen on",
    def: "127.0.0.1",
  },
  {
    flag: "--port",
    env: "DEEPSTUDIO_PORT",
    arg: "N",
    help: "Port to listen on (0: any free port)",
    def: "5000",
  },
  {
    flag: "--kv",
    env: "DEEPSTUDIO_KV",
    arg: "PATH",
    help: "Deno KV file for settings and history (':memory:' keeps nothing)",
    def: "<data dir>/deepstudio.kv",
  },
  {
    flag: "--allowed-hosts",
    env: "DEEPSTUDIO_ALLOWED_HOSTS",
    arg: "LIST",
    help:
      "Comma-separated host names accepted in the Host header besides localhost (.example.com: subdomains too)",
    def: "",
  },
  {
    flag: "--access-token",
    env: "DEEPSTUDIO_ACCESS_TOKEN",
    arg: "TOKEN",
    help: "Token required by the API and UI; mandatory when --host is not loopback",
    def: "",
  },
  {
    flag: "--run-lease",
    env: "DEEPSTUDIO_RUN_LEASE",
    arg: "SECONDS",
    help:
      "How long after this process dies another deepstudio on the same --kv file may take over and resume its unfinished runs and Library indexing jobs",
    def: "15",
  },
  {
    flag: "--library-roots",
    env: "DEEPSTUDIO_LIBRARY_ROOTS",
    arg: "DIR[,DIR]",
    help: "Folders the Library may import documents from (folder import is off without one)",
    def: "",
  },
] as const;

/**
 * Joins path parts with the platform's separator, dropping separators at the joins. (Not
 * `node:path`: any `node:` import starts Deno's Node compatibility layer, ~7 MB of resident
 * memory for the process's life, for two string operations.)
 */
export function joinPath(parts: string[], os = Deno.build.os): string {
  const sep = os === "windows" ? "\\" : "/";
  return parts.map((p, i) => {
    let s = p;
    if (i > 0) s = s.replace(/^[\\/]+/, "");
    if (i < parts.length - 1 && s.length > 1) s = s.replace(/[\\/]+$/, "");
    return s;
  }).filter((s, i) => s !== "" || i === 0).join(sep);
}

/** The directory holding `path` ("." for a bare file name; the root stays the root). */
export function parentDir(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (i === -1) return ".";
  if (i === 0) return path.slice(0, 1);
  if (i === 2 && path[1] === ":") return path.slice(0, 3); // C:\
  return path.slice(0, i);
}

/** The user's data directory for deepstudio, per platform conventions. */
export function defaultDataDir(
  env: Record<string, string | undefined>,
  os = Deno.build.os,
): string {
  const home = env.HOME ?? env.USERPROFILE ?? ".";
  const join = (...parts: string[]) => joinPath(parts, os);
  if (os === "windows") return join(env.APPDATA ?? join(home, "AppData", "Roaming"), "deepstudio");
  if (os === "darwin") return join(home, "Library", "Application Support", "deepstudio");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "deepstudio");
}

/** Result of parsing argv and env. */
export type ParsedConfig =
  | { ok: true; config: AppConfig }
  | { ok: false; help: true; text: string }
  | { ok: false; help: false; message: string };

/** The --help text, listing flags, their env names and the settings' env names. */
export function helpText(settingEnvNames: string[]): string {
  const lines = [
    "deepstudio: a local-first research console for LM Studio and OpenAI-compatible servers",
    "",
    "Usage: deno task start [flags]   (or, as a compiled binary: deepstudio [flags])",
    "",
    "Flags (each also read from the environment variable shown):",
  ];
  for (const f of FLAGS) {
    lines.push(`  ${`${f.flag} ${f.arg}`.padEnd(22)} ${f.help}`);
    lines.push(`  ${"".padEnd(22)} env ${f.env}${f.def ? `, default ${f.def}` : ""}`);
  }
  lines.push(`  ${"--help".padEnd(22)} Show this help`);
  lines.push(
    "",
    "Settings can be fixed by environment variables (they then show as locked in the UI):",
  );
  for (const name of settingEnvNames) lines.push(`  ${name}`);
  return lines.join("\n");
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Parses flags (`--flag value` or `--flag=value`) over env fallbacks. */
export function parseConfig(
  args: string[],
  env: Record<string, string | undefined>,
  settingEnvNames: string[] = [],
): ParsedConfig {
  const values: Record<string, string> = {};
  for (const f of FLAGS) {
    const v = env[f.env];
    if (v !== undefined && v !== "") values[f.flag] = v;
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      return { ok: false, help: true, text: helpText(settingEnvNames) };
    }
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if (!FLAGS.some((f) => f.flag === name)) {
      return { ok: false, help: false, message: `Unknown option ${name}; see --help` };
    }
    const value = inline ?? args[++i];
    if (value === undefined) {
      return { ok: false, help: false, message: `${name} needs a value; see --help` };
    }
    values[name] = value;
  }
  const host = values["--host"] ?? "127.0.0.1";
  const portText = values["--port"] ?? "5000";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    return {
      ok: false,
      help: false,
      message: `--port must be a number from 0 to 65535, got "${portText}"`,
    };
  }
  const accessToken = values["--access-token"] ?? "";
  if (!isLoopbackHost(host) && accessToken === "") {
    return {
      ok: false,
      help: false,
      message:
        `Refusing to listen on ${host} without an access token: anyone on the network could use your LLM and read your history. Set --access-token (or DEEPSTUDIO_ACCESS_TOKEN), or use --host 127.0.0.1`,
    };
  }
  if (accessToken !== "" && accessToken.length < 16) {
    return {
      ok: false,
      help: false,
      message: "--access-token must be at least 16 characters long",
    };
  }
  const leaseText = values["--run-lease"] ?? "15";
  const lease = Number(leaseText);
  if (!/^\d+(\.\d+)?$/.test(leaseText) || lease < 0.1 || lease > 3600) {
    return {
      ok: false,
      help: false,
      message: `--run-lease must be a number of seconds from 0.1 to 3600, got "${leaseText}"`,
    };
  }
  return {
    ok: true,
    config: {
      host,
      port,
      runLeaseMs: Math.round(lease * 1000),
      kvPath: values["--kv"] ?? joinPath([defaultDataDir(env), "deepstudio.kv"]),
      allowedHosts: (values["--allowed-hosts"] ?? "").split(",").map((s) => s.trim().toLowerCase())
        .filter(Boolean),
      accessToken,
      inContainer: false,
      libraryRoots: (values["--library-roots"] ?? "").split(",").map((s) => s.trim()).filter(
        Boolean,
      ).map((dir) => /^([\\/]|[A-Za-z]:)/.test(dir) ? dir : joinPath([Deno.cwd(), dir])),
    },
  };
}

/** Detects a container the cheap, conventional way (/.dockerenv, /run/.containerenv, cgroup). */
export function detectContainer(): boolean {
  for (const path of ["/.dockerenv", "/run/.containerenv"]) {
    try {
      Deno.statSync(path);
      return true;
    } catch { /* not there */ }
  }
  try {
    return /docker|containerd|kubepods|libpod/.test(Deno.readTextFileSync("/proc/1/cgroup"));
  } catch {
    return false;
  }
}
