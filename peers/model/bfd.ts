/**
 * `spec.bfd` (BGPPeer) and `spec.nodeMeshBFD` (BGPConfiguration "default"): Tern extensions.
 * Calico's projectcalico.org/v3 API has no BFD field (checked: api/pkg/apis/projectcalico/v3,
 * BGPPeerSpec and BGPConfigurationSpec), so these names are Tern's own; calicoctl and the
 * Calico CRDs would reject them. Timers follow BIRD's and FRR's defaults (RFC 5880 leaves them
 * to the operator). Reference: docs/bfd.md.
 */
import type { BfdSettings } from '../types.js';
import type { Password } from '../types.js';
import { join, type Reader, type YNode } from './reader.js';

type MapNode = Extract<YNode, { t: 'map' }>;

export const BFD_FIELDS = ['enabled', 'minRx', 'minTx', 'multiplier', 'multihop', 'strict', 'graceful', 'authentication'];

/** BIRD's and FRR's defaults: 300 ms x 3. */
export const BFD_DEFAULTS = { minRxMs: 300, minTxMs: 300, multiplier: 3 };
/** Below 10 ms the worker's poll(2) loop and the kernel's UDP path are no longer precise. */
const MIN_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 60_000;

/** Reads `key` under `m`; undefined when absent or `enabled: false`. */
/** `readKey` reads a Calico BGPPassword-shaped value (kinds-bgp.ts readPassword; passed in, not imported, to keep imports one way). */
type ReadKey = (r: Reader, m: MapNode | undefined, key: string, path: string) => Password | undefined;

export function readBfd(r: Reader, m: MapNode | undefined, key: string, path: string, readKey: ReadKey): BfdSettings | undefined {
  const n = r.get(m, key);
  if (!n) return undefined;
  const p = join(path, key);
  const b = r.map(n, p, BFD_FIELDS);
  if (!b) return undefined;
  const ms = (k: string, d: number): number => {
    const s = r.duration(b, k, p);
    if (s === undefined) return d;
    const v = Math.round(s * 1000);
    if (v < MIN_INTERVAL_MS || v > MAX_INTERVAL_MS) {
      r.error(r.lineOf(b, k), join(p, k), `${v} ms is out of range (${MIN_INTERVAL_MS}ms..${MAX_INTERVAL_MS / 1000}s)`);
      return d;
    }
    return v;
  };
  const settings: BfdSettings = {
    minRxMs: ms('minRx', BFD_DEFAULTS.minRxMs),
    minTxMs: ms('minTx', BFD_DEFAULTS.minTxMs),
    // RFC 5880 §4.1: Detect Mult is 8 bits and "MUST NOT be zero".
    multiplier: r.int(b, 'multiplier', p, 1, 255) ?? BFD_DEFAULTS.multiplier,
    multihop: r.bool(b, 'multihop', p) ?? false,
    strict: r.bool(b, 'strict', p) ?? false,
    graceful: r.bool(b, 'graceful', p) ?? false,
  };
  const an = r.get(b, 'authentication');
  if (an) {
    const ap = join(p, 'authentication');
    const am = r.map(an, ap, ['type', 'keyID', 'key']);
    const type = r.enumOf(am, 'type', ap, ['KeyedSHA1', 'MeticulousKeyedSHA1'] as const);
    const key = readKey(r, am, 'key', ap);
    if (am && (!type || !key)) r.error(am.line, ap, 'type (KeyedSHA1 or MeticulousKeyedSHA1) and key are required');
    // RFC 5880 §4.4: the SHA1 key is at most 20 bytes; a longer one would be cut, so refuse it.
    if (key?.value !== undefined && Buffer.byteLength(key.value) > 20)
      r.error(r.lineOf(am, 'key'), join(ap, 'key'), `${Buffer.byteLength(key.value)} bytes: a Keyed SHA1 key is at most 20 bytes (RFC 5880 §4.4)`);
    // RFC 5880 §4.4: Auth Key ID is one octet.
    if (type && key) settings.authentication = { type, keyID: r.int(am, 'keyID', ap, 0, 255) ?? 1, key };
  }
  return (r.bool(b, 'enabled', p) ?? true) ? settings : undefined;
}
