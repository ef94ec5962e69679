// A sans-IO session bench: one hostile peer's bytes go through the same pieces ternd joins
// (Framer -> eventOfMessage -> Fsm -> Rib), with a bystander eBGP peer on the same Rib whose
// Adj-RIB-Out we read. No sockets, no timers: the clock is a number. Used by the in-process
// replay of the hostile cases and by the session-level fuzzer.
//
// Mirrors src/daemon/daemon.ts and bgp/io/session.ts: framing errors are BGPHeaderErr
// (RFC 4271 §6.1), End-of-RIB is not ingested, a ROUTE-REFRESH for a family not negotiated is ignored
// (RFC 2918 §4), a session that goes down clears the peer's routes (no GR in this bench).

import { Framer, encodeMessage, isEndOfRib } from '../../bgp/codec/index.js';
import { eventOfMessage } from '../../bgp/fsm/dispatch.js';
import { Fsm } from '../../bgp/fsm/fsm.js';
import type { FsmAction, FsmEvent, State } from '../../bgp/fsm/types.js';
import { resolveConfig } from '../../bgp/fsm/config.js';
import { Rib } from '../../bgp/rib/rib.js';
import { BgpError, MsgType, type SessionContext } from '../../bgp/codec/types.js';
import { replayUpdates, type RawUpdate } from './wire-read.js';

// The addresses of the live suite (conformance/hostile.test.ts): Tern's node address (its router
// ID, the source of every session, as Calico's UseNodeIP has it) on the bystander's link, and an
// address of its own on the hostile peer's link that no session uses.
export const TERN_AS = 64512;
export const TERN_ID = '198.18.150.1';
export const TERN_ID6 = '2001:db8:150::1';
export const HOSTILE_ADDR = '198.18.151.10';
export const HOSTILE_ADDR6 = '2001:db8:151::a';
export const TERN_ADDR_HOSTILE = '198.18.151.1';
export const TERN_ADDR6_HOSTILE = '2001:db8:151::1';
/** What the kernel lists as the node's addresses (and ternd feeds the RIB, src/daemon). */
export const TERN_OWN_ADDRESSES = ['127.0.0.1', '::1', TERN_ID, TERN_ID6, TERN_ADDR_HOSTILE, TERN_ADDR6_HOSTILE];
export const HOSTILE_AS = 65151;
export const BYSTANDER = { id: 'bystander', address: '198.18.150.2', asn: 4200000001 };
export const BYSTANDER_PREFIX = '198.19.150.0/24';

const BASE_CTX: SessionContext = { as4: true, addPathRx: { ipv4: false, ipv6: false }, addPathTx: { ipv4: false, ipv6: false }, extendedMessage: false };

export interface HarnessOptions {
  /** Tern advertises RFC 8654 to the hostile peer (its default). */
  extendedMessage?: boolean;
  /** The hostile session runs over IPv6 and carries IPv6 unicast only (a Calico IPv6 peer). */
  ipv6?: boolean;
}

export class SessionHarness {
  readonly rib: Rib;
  readonly fsm: Fsm;
  readonly framer = new Framer();
  /** Every message Tern sent to the hostile peer, encoded. */
  readonly sentToHostile: Buffer[] = [];
  /** Every byte Tern sent to the bystander, as UPDATE messages. */
  readonly sentToBystander: Buffer[] = [];
  notification?: { code: number; subcode: number };
  /** RFC 7606 actions of the UPDATEs delivered to the RIB, as the codec reported them. */
  readonly actions: string[] = [];
  dropped = false;
  downs = 0;
  established = false;
  private ctx: SessionContext = BASE_CTX;
  private now = 1;

  constructor(o: HarnessOptions = {}) {
    // As the daemon does: the node's own addresses, on any interface, are not valid next hops
    // (RFC 4271 §6.3); ternd reads them from the kernel (fib/local-addresses.ts).
    this.rib = new Rib({ localAs: TERN_AS, routerId: TERN_ID, collectChanges: true, ownAddresses: new Set(TERN_OWN_ADDRESSES) });
    // Over IPv4 Tern offers IPv6 unicast too (the OPEN of the case decides; the session fuzzer's
    // streams carry both); over IPv6 only IPv6, as Calico plans a session per family.
    const [peerAddress, localAddress] = o.ipv6 ? [HOSTILE_ADDR6, TERN_ID6] : [HOSTILE_ADDR, TERN_ID];
    this.fsm = new Fsm(
      resolveConfig({
        peerAddress,
        peerAs: HOSTILE_AS,
        localAs: TERN_AS,
        localAddress,
        routerId: TERN_ID,
        families: o.ipv6 ? ['ipv6'] : ['ipv4', 'ipv6'],
        extendedMessage: o.extendedMessage ?? true,
        noJitter: true,
      }),
      { random: () => 0.5 },
    );
    // As src/daemon/wiring.ts builds a RIB peer: the session's addresses are the node's.
    this.rib.addPeer({ id: 'hostile', address: peerAddress, asn: HOSTILE_AS, localAddress: TERN_ID, localAddress6: TERN_ID6 });
    this.rib.addPeer({ id: BYSTANDER.id, address: BYSTANDER.address, asn: BYSTANDER.asn, localAddress: TERN_ID, localAddress6: TERN_ID6 });
    this.rib.peerUp(BYSTANDER.id, BASE_CTX, { routerId: BYSTANDER.address, families: ['ipv4', 'ipv6'] });
    this.fsm.handle({ type: 'ManualStart_with_PassiveTcpEstablishment' }, this.now);
    this.run({ type: 'TcpConnectionConfirmed' });
  }

  get state(): State {
    return this.fsm.state;
  }

  /** Bytes from the hostile peer, as TCP delivers them (any split). */
  feed(bytes: Buffer): void {
    if (this.dropped) return;
    let msgs: Buffer[];
    try {
      msgs = this.framer.push(bytes);
    } catch (err) {
      if (!(err instanceof BgpError)) throw err;
      this.run({ type: 'BGPHeaderErr', error: err });
      return;
    }
    for (const m of msgs) {
      if (this.dropped) return;
      this.run(eventOfMessage(m, this.ctx));
    }
  }

  /** Runs the decision process and collects what the bystander is sent. */
  flush(): void {
    this.now += 1000;
    this.rib.flush(this.now);
    this.sentToBystander.push(...this.rib.takeOutput(BYSTANDER.id));
  }

  /** What the bystander holds now, rebuilt from the UPDATEs it was sent. */
  bystanderView(): Map<string, RawUpdate> {
    this.flush();
    return replayUpdates(this.sentToBystander);
  }

  private run(ev: FsmEvent): void {
    this.now += 1;
    for (const a of this.fsm.handle(ev, this.now)) this.act(a);
  }

  private act(a: FsmAction): void {
    switch (a.type) {
      case 'send': {
        const bytes = encodeMessage(a.msg, this.ctx);
        this.sentToHostile.push(bytes);
        if (a.msg.type === MsgType.NOTIFICATION) this.notification ??= { code: a.msg.code, subcode: a.msg.subcode };
        break;
      }
      case 'dropTcp':
        this.dropped = true;
        break;
      case 'established':
        this.established = true;
        this.ctx = a.negotiated.context;
        this.framer.extended = a.negotiated.extendedMessage;
        this.rib.peerUp('hostile', a.negotiated.context, { routerId: a.negotiated.peerBgpId, families: a.negotiated.families });
        break;
      case 'sessionDown':
        this.downs++;
        this.rib.peerDown('hostile');
        break;
      case 'deliverUpdate':
        for (const e of a.update.errors ?? []) this.actions.push(e.action);
        if (!isEndOfRib(a.update)) this.rib.ingest('hostile', a.update);
        break;
      case 'deliverRouteRefresh': {
        // RFC 2918 §4: only for a family the session negotiated (bgp/io/session.ts does the same).
        const fam = a.msg.afi === 1 ? 'ipv4' : a.msg.afi === 2 ? 'ipv6' : undefined;
        if (fam && a.msg.safi === 1 && this.fsm.negotiated?.families.includes(fam)) this.rib.routeRefresh('hostile', fam);
        break;
      }
      default:
        break; // timers and state changes: the bench has no clock of its own
    }
  }
}
