// Shared by the daemon tests: one Calico resource as a YAML document of a multi-document file.
export const doc = (kind: string, name: string, spec: string, api = 'projectcalico.org/v3'): string =>
  `---\napiVersion: ${api}\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}\n`;
