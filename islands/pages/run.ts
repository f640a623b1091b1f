/** The run page's bundle: only RunView (see lib/islands/bundles.ts). */
import { boot } from "../boot.ts";
import { RunView } from "../RunView.tsx";

boot({ RunView });
