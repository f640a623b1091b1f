/** deepstudio's version, reported by /api/health and --help. Bump with deno.json. */
export const VERSION = "0.1.0";
