// The read-only view the control API gets of the running daemon (view.ts's DaemonView), built
// from the daemon's parts. Each getter reads its part when asked: the RIB, the Speaker and the
// local speaker are made at start and replaced on reload, and the view follows them.
import type { Rib } from '../../bgp/rib/rib.js';
import type { Speaker } from '../../bgp/io/speaker.js';
import type { Family } from '../../bgp/codec/types.js';
import type { Fib } from '../../fib/types.js';
import type { LocalSpeaker } from '../../peers/index.js';
import type { Datastore } from '../../peers/datastore/index.js';
import type { BfdCoupling } from './bfd.js';
import type { PeerEntry } from './peer-entry.js';
import type { PeerProblems } from './peer-problems.js';
import type { Planner } from './plan.js';
import type { RouteFlow } from './routes.js';
import { hasPathsFrom } from './sessions.js';
import type { DaemonView } from './view.js';

/** What the view reads, and nothing more: functions for the parts the daemon replaces. */
export interface ViewParts {
  local(): LocalSpeaker;
  rib(): Rib;
  speaker(): Speaker;
  configLoaded(): boolean;
  listening(): boolean;
  planner: Pick<Planner, 'plan' | 'originated'>;
  peers: ReadonlyMap<string, PeerEntry>;
  routes: Pick<RouteFlow, 'feed' | 'denied'>;
  fib: Fib;
  fibDriver: 'kernel' | 'none';
  datastore: Pick<Datastore, 'status'>;
  problems: Pick<PeerProblems, 'view'>;
  bfd: Pick<BfdCoupling, 'query'>;
}

export function daemonView(p: ViewParts): DaemonView {
  const { fib, routes, planner } = p;
  return {
    get local() {
      return p.local();
    },
    get plan() {
      return planner.plan;
    },
    get originated() {
      return planner.originated;
    },
    peers: p.peers,
    get rib() {
      return p.rib();
    },
    fib: {
      driver: p.fibDriver,
      get coupled() {
        return routes.feed.coupled;
      },
      get desiredCount() {
        return fib.desiredCount;
      },
      desiredRoutes: () => fib.desiredRoutes(),
      kernelRoutes: () => fib.dump(),
      get denied() {
        return routes.denied;
      },
    },
    get configLoaded() {
      return p.configLoaded();
    },
    get listening() {
      return p.listening();
    },
    listenAddresses: () => p.speaker().listenAddresses(),
    sessions: () => p.speaker().peers(),
    datastore: () => p.datastore.status(),
    updateErrors: (peerId) => p.problems.view(peerId),
    hasPathsFrom: (peerId, family: Family) => hasPathsFrom(p.rib(), peerId, family),
    bfd: () => p.bfd.query(),
  };
}
