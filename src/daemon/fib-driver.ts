// Chooses the FIB driver for ternd: the kernel through rtnetlink, or none (routes stay in the
// RIB; for tests, for reflectors that do not forward, and for running without root).
import type * as NetlinkFibModule from '../../fib/netlink-fib.js';
import { NoneFib } from '../../fib/memory.js';
import type { Fib } from '../../fib/types.js';
import { LocalAddresses } from '../../fib/local-addresses.js';
import type { Logger } from '../log.js';
import type { LocalAddressSource } from './daemon.js';

export async function createFib(kind: 'kernel' | 'none', o: { table?: number; metric?: number; tunnelDevice?: string; log: Logger }): Promise<Fib> {
  if (kind === 'none') return new NoneFib();
  // The tunnel decision is made per IPPool in src/daemon/wiring.ts (Calico's ipipMode), and
  // arrives as an explicit `dev tunl0 onlink` hop; the FIB must not apply a cross-subnet rule of
  // its own to the other, bare next hops (that would tunnel an ipipMode Never pool).
  // Loaded only here: with --fib none the kernel FIB's modules (writer, resolver, nexthop
  // objects, dump scanner) are never needed, and stayed resident for nothing (issue 18).
  const { NetlinkFib } = require('../../fib/netlink-fib.js') as typeof NetlinkFibModule;
  const fib = await NetlinkFib.open({ table: o.table, metric: o.metric, tunnelDevice: o.tunnelDevice, ipipMode: 'never' });
  const log = o.log.child({ component: 'fib' });
  fib.on('resync', (r) => log.info({ reason: r.reason, added: r.added, replaced: r.replaced, deleted: r.deleted }, `kernel FIB resynchronised (${r.reason})`));
  fib.on('link', (l) => log.info({ link: l.name, up: l.up, removed: l.removed }, `link ${l.name} ${l.removed ? 'removed' : l.up ? 'up' : 'down'}`));
  return fib;
}

/**
 * This node's addresses from the kernel (RFC 4271 §6.3 next-hop check), whatever the FIB
 * driver: reading addresses writes nothing. If netlink cannot be opened ternd still runs, with
 * only the model's node addresses and each session's own address checked, and says so.
 */
export function openLocalAddresses(log: Logger): LocalAddressSource | undefined {
  const l = log.child({ component: 'rib' });
  let listener: (() => void) | undefined;
  try {
    const src = LocalAddresses.open({
      onChange: () => listener?.(),
      onError: (e) => l.warn(`reading this node's addresses from the kernel: ${e.message}`),
    });
    l.info(
      { addresses: [...src.addresses].slice(0, 50) },
      `${src.addresses.size} addresses on this node's interfaces: routes with one of them as next hop are ignored (RFC 4271 §6.3)`,
    );
    return {
      get addresses() {
        return src.addresses;
      },
      subscribe: (fn) => {
        listener = fn;
      },
      close: () => src.close(),
    };
  } catch (e) {
    l.warn(
      `cannot read this node's addresses from the kernel (${(e as Error).message}): only the Node's own addresses and each session's local address are refused as next hops (RFC 4271 §6.3)`,
    );
    return undefined;
  }
}
