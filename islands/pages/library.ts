/** The Library pages' bundle: the collection list and one collection (see lib/islands/bundles.ts). */
import { boot } from "../boot.ts";
import { LibraryCollection } from "../LibraryCollection.tsx";
import { LibraryHome } from "../LibraryHome.tsx";

boot({ LibraryHome, LibraryCollection });
