/** The research page's bundle: only ResearchForm (see lib/islands/bundles.ts). */
import { boot } from "../boot.ts";
import { ResearchForm } from "../ResearchForm.tsx";

boot({ ResearchForm });
