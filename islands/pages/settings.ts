/** The settings page's bundle: only SettingsForm (see lib/islands/bundles.ts). */
import { boot } from "../boot.ts";
import { SettingsForm } from "../SettingsForm.tsx";

boot({ SettingsForm });
