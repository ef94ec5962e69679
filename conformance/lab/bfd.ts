// Helpers for conformance/bfd.test.ts (issue 20): cut a path without taking the link down
// (nftables drop in a namespace) and watch a namespace's routes with arrival times.

import { onLines, type Lab } from './lab.js';

/** nftables drop of everything in and out of `host`: the link stays up, packets vanish. */
export async function cutPath(lab: Lab, host: string): Promise<void> {
  const nft = async (...a: string[]): Promise<void> => {
    const r = await lab.exec(host, 'nft', a);
    if (r.code !== 0) throw new Error(`nft ${a.join(' ')}: ${r.stderr}`);
  };
  await nft('add', 'table', 'inet', 'i20cut');
  await nft('add chain inet i20cut out { type filter hook output priority 0; policy drop; }');
  await nft('add chain inet i20cut in { type filter hook input priority 0; policy drop; }');
}
export async function healPath(lab: Lab, host: string): Promise<void> {
  await lab.exec(host, 'nft', ['delete', 'table', 'inet', 'i20cut']);
}

/** `ip monitor route` in `host`, each line stamped with its arrival time here. */
export function watchRoutes(lab: Lab, host: string): { deletedAt(prefix: string): number | undefined; lines(): string[]; stop(): Promise<void> } {
  const child = lab.spawn(host, 'ip', ['monitor', 'route']);
  const seen: { at: number; line: string }[] = [];
  onLines(child.stdout, (line) => seen.push({ at: Date.now(), line }));
  return {
    deletedAt: (prefix) => seen.find((s) => s.line.startsWith('Deleted') && s.line.includes(prefix))?.at,
    lines: () => seen.map((s) => `${new Date(s.at).toISOString()} ${s.line}`),
    stop: () => lab.stop(child.pid!, 500),
  };
}
