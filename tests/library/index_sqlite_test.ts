/** The SQLite index passes the index conformance suite. */
import { openSqliteIndex } from "../../lib/library/index/sqlite.ts";
import { indexConformance } from "./index_conformance.ts";

indexConformance("sqlite", openSqliteIndex);
