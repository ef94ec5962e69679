// What the control API (api.ts, rib-view.ts, status-view.ts) may see of the running daemon:
// read-only views, and the few actions bgpctl may ask for by name. The daemon's own fields
// stay its own; nothing here can replace a map, a plan or the RIB under it.
import type { Rib } from '../../bgp/rib/rib.js';
import type { Session } from '../../bgp/io/session.js';
import type { FibChange, FibRoute } from '../../fib/types.js';
import type { LocalSpeaker, OriginatedRoute, PeerConfig } from '../../peers/index.js';
import type { DatastoreStatus } from '../../peers/datastore/index.js';
import type { BfdSessionView } from '../../bgp/bfd/types.js';
import type { NeighborAction, NeighborActionOptions } from '../control/api.js';
import type { PeerEntry } from './peer-entry.js';
import type { UpdateErrorCount } from './peer-problems.js';

/** What the control API may ask the RIB: lookups, dumps and counters, nothing that changes it. */
export type RibReader = Pick<
  Rib,
  'lookup' | 'dumpLocRib' | 'adjRibIn' | 'adjRibOut' | 'adjRibOutCount' | 'pathCounts' | 'peerCounters' | 'receivedCount' | 'hasPeer' | 'stats'
>;

/** A peer entry as observers see it. */
export type PeerEntryView = Readonly<PeerEntry>;

export interface FibView {
  readonly driver: 'kernel' | 'none';
  /** What `bgpctl fib couple|decouple` last set (writes may still be held at startup). */
  readonly coupled: boolean;
  readonly desiredCount: number;
  desiredRoutes(): FibChange[];
  /** The routes Tern owns in the kernel now. */
  kernelRoutes(): Promise<FibRoute[]>;
  /** The last EPERM a route write got, with what to do about it (/readyz). */
  readonly denied?: string;
}

export interface DaemonView {
  readonly local: LocalSpeaker;
  readonly plan: readonly PeerConfig[];
  readonly originated: ReadonlyMap<string, OriginatedRoute>;
  readonly peers: ReadonlyMap<string, PeerEntryView>;
  /** The RIB's read side only: `show` rows and counters. */
  readonly rib: RibReader;
  readonly fib: FibView;
  readonly configLoaded: boolean;
  readonly listening: boolean;
  listenAddresses(): { address: string; port: number }[];
  /** The sessions, in the Speaker's order. */
  sessions(): readonly Session[];
  datastore(): DatastoreStatus;
  updateErrors(peerId: string): UpdateErrorCount[];
  hasPathsFrom(peerId: string, family: 'ipv4' | 'ipv6'): boolean;
  bfd(): Promise<BfdSessionView[]>;
}

/** What bgpctl may ask the daemon to do. */
export interface DaemonControl {
  reload(trigger: string): Promise<ReloadOutcome>;
  neighborAction(peerId: string, action: NeighborAction, opts: NeighborActionOptions): void;
  fibCouple(coupled: boolean): Promise<void>;
  fibFlush(): Promise<number>;
}

/** What a reload did (bgpctl reload prints it): refused with errors, or applied with effects;
 * the new config's warnings either way. */
export interface ReloadOutcome {
  ok: boolean;
  errors?: string[];
  effects?: string[];
  warnings?: string[];
}
