/**
 * The Research page's one status message for the selected provider: what state it is in and the
 * one next step, in the words the page uses (field labels, not setting keys). Everything else on
 * the page (model list errors, a refused submit) points here instead of repeating it.
 */
import type { ModelInfo, ProviderStatus } from "../lib/providers/types.ts";
import { type FamilyUi, fillText } from "../lib/providers/ui_text.ts";

/** What the line needs to know about the provider and its key field. */
export interface StatusSubject {
  name: string;
  /** The family's status-line texts (its adapter's `hints.ui.line`). */
  ui: FamilyUi["line"];
  /** The label of the provider's key field, as shown below the line. */
  keyLabel: string;
  /** True when a key or token is stored or typed: a 401 then means "rejected", not "needed". */
  keySet: boolean;
}

/** Chat models only: embedding models cannot answer and are not counted or offered. */
export function chatModels(models: ModelInfo[] | null): ModelInfo[] | null {
  return models ? models.filter((m) => m.type !== "embedding") : null;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The one-line status shown next to the dot: [css class, text]. */
export function statusLine(
  p: StatusSubject,
  s: ProviderStatus | null,
  models: ModelInfo[] | null,
): [string, string] {
  if (!s) return ["", `Checking ${p.name}…`];
  const url = s.baseUrl || "(no URL set)";
  const vars = { name: p.name, url };
  switch (s.state) {
    case "available": {
      const chat = chatModels(models);
      if (!chat) return ["ok", `${p.name} is running`];
      const loaded = chat.filter((m) => m.state === "loaded").length;
      const idle = chat.length - loaded;
      const parts = [`${loaded} loaded`];
      if (idle > 0) parts.push(`${idle} available${p.ui.idle}`);
      return [
        "ok",
        `${p.name} is running · ${plural(chat.length, "chat model")}: ${parts.join(", ")}`,
      ];
    }
    case "unreachable":
      return [
        "bad",
        `Not reachable at ${url} — ${fillText(p.ui.start, vars)}`,
      ];
    case "timeout":
      return [
        "bad",
        `No answer from ${url} within 1 s — the server may be loading a model or overloaded`,
      ];
    case "wrong_path":
      return [
        "bad",
        `${url} answered, but not as an OpenAI-compatible server — check the URL and port`,
      ];
    case "auth_required": {
      const where = fillText(p.ui.keyWhere, vars);
      return [
        "warn",
        p.keySet
          ? `${p.name} rejected the ${
            p.keyLabel.replace(`${p.name} `, "")
          } — check it${where} and enter it again below`
          : `${p.name} at ${url} needs a token — create one${where} and enter it as “${p.keyLabel}” below`,
      ];
    }
    case "no_models":
      return [
        "warn",
        `${p.name} is running but has no chat models — ${fillText(p.ui.load, vars)}`,
      ];
  }
  return ["bad", s.error?.message ?? String(s.state)];
}
