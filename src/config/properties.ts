// Java-properties syntax (comments # and !, = : or space separators, continuations, escapes, \uXXXX) via the
// properties-file package, keeping each key's line so every config error can name file:line.

import { Properties } from "properties-file/parser";

export interface Property {
  key: string;
  value: string;
  line: number;
}

export interface ParsedProperties {
  /** Last value wins, as in Java; values are trimmed as Flume trims them. */
  props: Map<string, Property>;
  /** Keys set more than once: every occurrence, in file order. */
  duplicates: Property[][];
}

export function parseProperties(text: string): ParsedProperties {
  const parsed = new Properties(text);
  const props = new Map<string, Property>();
  for (const n of parsed.getProperties()) {
    props.set(n.key, { key: n.key, value: n.value.trim(), line: n.startingLineNumber });
  }
  const duplicates = parsed
    .getKeyCollisions()
    .map((c) => c.nodes.map((n) => ({ key: n.key, value: n.value.trim(), line: n.startingLineNumber })));
  return { props, duplicates };
}
