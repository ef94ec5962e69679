// Chooses the FIB driver for ternd: the kernel through rtnetlink, or none (routes stay in the
// RIB; for tests, for reflectors that do not forward, and for running without root).
import { NetlinkFib } from '../../fib/netlink-fib';
import { NoneFib } from '../../fib/memory';
import type { Fib } from '../../fib/types';
import type { Logger } from '../log';

export async function createFib(kind: 'kernel' | 'none', o: { table?: number; metric?: number; tunnelDevice?: string; log: Logger }): Promise<Fib> {
  if (kind === 'none') return new NoneFib();
  // The tunnel decision is made per IPPool in src/daemon/wiring.ts (Calico's ipipMode), and
  // arrives as an explicit `dev tunl0 onlink` hop; the FIB must not apply a cross-subnet rule of
  // its own to the other, bare next hops (that would tunnel an ipipMode Never pool).
  const fib = await NetlinkFib.open({ table: o.table, metric: o.metric, tunnelDevice: o.tunnelDevice, ipipMode: 'never' });
  const log = o.log.child({ component: 'fib' });
  fib.on('resync', (r) => log.info({ reason: r.reason, added: r.added, replaced: r.replaced, deleted: r.deleted }, `kernel FIB resynchronised (${r.reason})`));
  fib.on('link', (l) => log.info({ link: l.name, up: l.up, removed: l.removed }, `link ${l.name} ${l.removed ? 'removed' : l.up ? 'up' : 'down'}`));
  return fib;
}
