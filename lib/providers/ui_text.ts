/**
 * The words the Status page's checklist and the Research page's status line use for a server
 * family. Each adapter carries one `FamilyUi` (`adapter.hints.ui`) so the pages and islands never
 * branch on a provider id: they receive the block as plain JSON (props, `GET /api/providers`) and
 * fill its `{name}`, `{url}`, `{port}` and `{env}` slots with `fillText`. Dependency-free, so the
 * islands bundle it without the provider module.
 */

/** One checklist step: a sentence and, optionally, a command to copy. */
export interface UiStep {
  text: string;
  code?: string;
}

/** A family's UI texts. Slots: `{name}` display name, `{url}`, `{port}`, `{env}` key variable. */
export interface FamilyUi {
  /** The Status page's troubleshooting checklist. */
  checklist: {
    /** Unreachable: the first step (how to start the server). */
    start: UiStep;
    /** Unreachable: appended to "the server must listen on {port}" (where the port is shown). */
    portNote: string;
    /** 401/403: where the key comes from and how to set it. */
    auth: UiStep;
    /** Running, but no chat model: how to get one. */
    noModels: UiStep;
  };
  /** The Research page's one status line. */
  line: {
    /** Unreachable: the next step, after "Not reachable at {url} — ". */
    start: string;
    /** 401/403: where the token is made, appended to "create one" / "check it" (or ""). */
    keyWhere: string;
    /** No chat models: the next step, after "… has no chat models — ". */
    load: string;
    /** Appended to "N available" for models that are listed but not loaded (or ""). */
    idle: string;
  };
}

/** The texts of a server deepstudio knows nothing special about: they name it and its URL. */
export const GENERIC_UI: FamilyUi = {
  checklist: {
    start: { text: "Start {name} and make sure it listens on {url}." },
    portNote: "",
    auth: {
      text: "{name} refused the request without a valid key. Set it on the Settings page or with:",
      code: "{env}=<key>",
    },
    noModels: { text: "{name} is running but lists no models. Load or pull one first." },
  },
  line: {
    start: "start {name} or check the URL and port",
    keyWhere: "",
    load: "load or pull one",
    idle: "",
  },
};

/** Values for a text's slots; a slot without a value stays as written. */
export type UiVars = Partial<Record<"name" | "url" | "port" | "env", string>>;

/** `text` with its `{name}`/`{url}`/`{port}`/`{env}` slots filled from `vars`. */
export function fillText(text: string, vars: UiVars): string {
  return text.replace(
    /\{(name|url|port|env)\}/g,
    (slot, key: keyof UiVars) => vars[key] ?? slot,
  );
}

/** A checklist step with its slots filled. */
export function fillStep(step: UiStep, vars: UiVars): UiStep {
  return step.code === undefined
    ? { text: fillText(step.text, vars) }
    : { text: fillText(step.text, vars), code: fillText(step.code, vars) };
}
