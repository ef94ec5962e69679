// Which conformance prerequisites this machine lacks, and the gate every conformance test
// opens with: skip when something is missing, but FAIL under TERN_CONFORMANCE=1 (CI), where a
// silently skipped interop suite would look like a passing one.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { BIRD, BIRDC } from './bird.js';
import { BFDD, BGPD, ZEBRA, VTYSH } from './frr.js';
import { missingPeerImages, peerMode, type PeerKind } from './peer-runtime.js';

export type Prereq = 'root' | 'ip' | 'bird' | 'birdc' | 'bgpd' | 'zebra' | 'bfdd' | 'vtysh' | 'tcpdump' | 'nft' | 'ternd' | 'etcd' | 'openssl';

const BINARIES: Record<Exclude<Prereq, 'root' | 'ternd'>, string[]> = {
  ip: ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'],
  bird: [BIRD],
  birdc: [BIRDC],
  bgpd: [BGPD],
  zebra: [ZEBRA],
  bfdd: [BFDD],
  vtysh: [VTYSH],
  tcpdump: ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'],
  nft: ['/usr/sbin/nft', '/sbin/nft'],
  etcd: [process.env.TERN_ETCD ?? '/usr/bin/etcd'],
  openssl: ['/usr/bin/openssl'],
};

const executable = (p: string): boolean => {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The items of `need` (default: root, ip, bird, birdc, bgpd, vtysh) that are missing here. */
export function prereqs(need: Prereq[] = ['root', 'ip', 'bird', 'birdc', 'bgpd', 'vtysh'], ternd?: string): string[] {
  const missing: string[] = [];
  // TERN_PEERS=containers: BIRD and FRR come from images (conformance/containers), not the host.
  const images = new Set<PeerKind>();
  if (peerMode() === 'containers') {
    for (const p of need) {
      if (p === 'bird' || p === 'birdc') images.add('bird');
      if (p === 'bgpd' || p === 'zebra' || p === 'bfdd' || p === 'vtysh') images.add('frr');
    }
    if (images.size && !['/usr/bin/podman', '/usr/local/bin/podman'].some(executable)) missing.push('podman (TERN_PEERS=containers)');
    else missing.push(...missingPeerImages([...images]));
    need = need.filter((p) => !['bird', 'birdc', 'bgpd', 'zebra', 'bfdd', 'vtysh'].includes(p));
  }
  for (const p of need) {
    if (p === 'root') {
      if (process.getuid?.() !== 0) missing.push('root (network namespaces need CAP_SYS_ADMIN)');
    } else if (p === 'ternd') {
      if (!ternd || !fs.existsSync(ternd)) missing.push(`ternd (${ternd ?? 'dist/src/ternd.js'}; run npm run build)`);
    } else if (!BINARIES[p].some(executable)) {
      missing.push(`${p} (${BINARIES[p].join(' or ')})`);
    }
  }
  return missing;
}

/**
 * Call first in a conformance test: `if (!conformanceGate(t)) return;`. Returns true when the
 * prerequisites are present; otherwise skips the test, or throws when TERN_CONFORMANCE=1.
 */
export function conformanceGate(t: TestContext, need?: Prereq[], ternd?: string): boolean {
  const missing = prereqs(need, ternd);
  if (!missing.length) return true;
  const msg = `conformance prerequisites missing: ${missing.join(', ')}`;
  // While the daemon's source is not in the tree at all, Tern scenarios have nothing to test:
  // skip them even in CI. Once src/ternd.ts exists, a missing build is a failure like any other.
  if (ternd && missing.length === 1 && missing[0].startsWith('ternd') && !fs.existsSync(path.resolve(__dirname, '..', '..', '..', 'src', 'ternd.ts'))) {
    t.skip('ternd is not in this tree yet (src/ternd.ts missing)');
    return false;
  }
  if (process.env.TERN_CONFORMANCE === '1') throw new Error(`${msg} (TERN_CONFORMANCE=1 requires them)`);
  t.skip(msg);
  return false;
}
