/** The reader's tree of one YAML document: every key and value with its line (reader.ts, fast-yaml.ts). */
export type YNode =
  | { t: 'map'; line: number; entries: Map<string, { keyLine: number; value: YNode }> }
  | { t: 'seq'; line: number; items: YNode[] }
  | { t: 'scalar'; line: number; value: unknown; source: string };
