/**
 * The prefix each embedding model family expects before documents and queries, from the models'
 * cards (table in docs/embeddings.md). A collection stores the rule it was indexed with, so
 * queries always use the same family's query prefix.
 */

/** Prefixes of one model family. */
export interface PrefixRule {
  family: string;
  document: string;
  query: string;
}

const RULES: { test: RegExp; rule: PrefixRule }[] = [
  {
    test: /nomic-embed-text/i,
    rule: { family: "nomic", document: "search_document: ", query: "search_query: " },
  },
  {
    test: /(^|[^a-z])e5([^a-z]|$)/i,
    rule: { family: "e5", document: "passage: ", query: "query: " },
  },
  {
    test: /bge-.*en-v1\.5|mxbai-embed-large|snowflake-arctic-embed/i,
    rule: {
      family: "bge",
      document: "",
      query: "Represent this sentence for searching relevant passages: ",
    },
  },
  {
    test: /embeddinggemma/i,
    rule: {
      family: "embeddinggemma",
      document: "title: none | text: ",
      query: "task: search result | query: ",
    },
  },
  {
    test: /qwen3-embedding/i,
    rule: {
      family: "qwen3-embedding",
      document: "",
      query:
        "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:",
    },
  },
];

/** The rule for a model id; models without a documented prefix get none. */
export function prefixRuleFor(model: string): PrefixRule {
  return RULES.find((r) => r.test.test(model))?.rule ?? { family: "none", document: "", query: "" };
}

/** LM Studio's bundled embedding model: the default of a new collection. */
export const DEFAULT_EMBEDDING_MODEL = "text-embedding-nomic-embed-text-v1.5";
