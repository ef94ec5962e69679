// The TypeScript sources the architecture tests read (not dist/): every .ts file below the
// given top-level folders of the repository, sorted.
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Paths relative to ROOT, e.g. `bgp/codec/update.ts`. */
export function sources(folders: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const f of folders) walk(f);
  return out.sort();
}
