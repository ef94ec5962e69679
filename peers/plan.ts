/**
 * Peer planning: which BGP sessions this node should have, as plain PeerConfig objects.
 * Follows Calico's confd (backends/calico client.go updatePeersV1, bgp_processor.go):
 *
 *  1. Node-to-node mesh (nodeToNodeMeshEnabled): one session per other node and address
 *     family where both ends have an address. A route reflector (a Node with
 *     routeReflectorClusterID) takes no part in the mesh, and no node meshes with one.
 *  2. BGPPeers, global ones (no node, no nodeSelector) first, then node-scoped ones
 *     (`node:` or `nodeSelector`). A peer is either an address (peerIP + asNumber) or the
 *     Calico nodes chosen by peerSelector (their addresses and AS, per family).
 *  3. Reverse peerings: when this node is the far end of another node's BGPPeer (it matches
 *     the peerSelector, or its address and AS match peerIP/asNumber), it peers back with the
 *     nodes that BGPPeer applies to, so Calico-to-Calico sessions are symmetric; unless the
 *     BGPPeer says reversePeering: Manual.
 *  Duplicates (same address and port): the first one planned wins, in the order global
 *  BGPPeer, node-scoped BGPPeer, reverse peering, mesh; BGPPeers in name order. An explicit
 *  BGPPeer therefore beats the mesh (it carries the password and filters the operator chose).
 *  A node never peers with one of its own addresses.
 *  RFC 4456: on a node with a cluster ID, every iBGP peer that is not a reflector of the same
 *  cluster is a route reflector client.
 */
import { createHash } from 'node:crypto';
import type { BgpPeerResource, CalicoNode, ClusterModel, Family, NextHopMode, Password, PeerConfig, PeerKind } from './types.js';
import { lookupSecret, type SecretResolver } from './secrets.js';

export interface PlanOptions {
  /**
   * Resolves a secretKeyRef password the model's Secrets do not hold (ternd --secrets-dir). A
   * reference nothing resolves sets PeerConfig.passwordError: the session stays down.
   */
  resolveSecret?: SecretResolver;
}

const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const addrOf = (n: CalicoNode, f: Family) => (f === 'ipv4' ? n.ipv4Address : n.ipv6Address);

export function findNode(model: ClusterModel, nodeName: string): CalicoNode {
  const n = model.nodes.find((x) => x.name === nodeName);
  if (!n)
    throw new Error(
      `node ${JSON.stringify(nodeName)} is not in the model (${model.source}); known nodes: ${model.nodes.map((x) => x.name).join(', ') || 'none'}`,
    );
  return n;
}

/** AS of a node: its own, else the global default (Calico getNodeOrGlobalValue "as_num"). */
export const nodeAs = (model: ClusterModel, n: CalicoNode): number => n.asNumber ?? model.bgpConfig.asNumber;

/** BGP port of a node: node.<name> listenPort, else the global listenPort (default 179). */
export const nodePort = (model: ClusterModel, name: string): number => model.nodeBgpConfigs.get(name)?.listenPort ?? model.bgpConfig.listenPort;

export const peerKey = (address: string, port: number): string =>
  port === 179 ? address : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;

/** Everything about the local speaker the daemon needs besides the sessions. */
export interface LocalSpeaker {
  nodeName: string;
  asNumber: number;
  /** The node's IPv4 address, else a hash of the node name (Calico's CALICO_ROUTER_ID=hash). */
  routerId: string;
  listenPort: number;
  /** bindMode NodeIP: listen on the node addresses only; empty means all addresses. */
  listenAddresses: string[];
  routeReflectorClusterID?: string;
  logSeverity: string;
}

export function localSpeaker(model: ClusterModel, nodeName: string): LocalSpeaker {
  const n = findNode(model, nodeName);
  const h = createHash('sha256').update(nodeName).digest();
  return {
    nodeName,
    asNumber: nodeAs(model, n),
    routerId: n.ipv4Address ?? `${h[0]}.${h[1]}.${h[2]}.${h[3]}`,
    listenPort: nodePort(model, nodeName),
    listenAddresses: model.bgpConfig.bindMode === 'NodeIP' ? [n.ipv4Address, n.ipv6Address].filter((a): a is string => !!a) : [],
    routeReflectorClusterID: n.routeReflectorClusterID,
    logSeverity: model.nodeBgpConfigs.get(nodeName)?.logSeverityScreen ?? model.bgpConfig.logSeverityScreen,
  };
}

interface Target {
  address: string;
  family: Family;
  port: number;
  peerAs: number;
  node?: CalicoNode;
}

export function planPeers(model: ClusterModel, nodeName: string, opts: PlanOptions = {}): PeerConfig[] {
  const me = findNode(model, nodeName);
  const myAs = nodeAs(model, me);
  const myAddrs = new Set([me.ipv4Address, me.ipv6Address].filter(Boolean));
  const byAddr = new Map<string, CalicoNode>();
  for (const n of model.nodes)
    for (const f of FAMILIES) {
      const a = addrOf(n, f);
      if (a) byAddr.set(a, n);
    }
  const out = new Map<string, PeerConfig>();
  // A secretKeyRef is looked up in the datastore's Secrets first, then in the daemon's resolver
  // (peers/secrets.ts); what neither has is an error carried to the session, never "no password".
  const password = (p: Password | undefined, where: string): { value?: string; error?: string } => {
    if (!p) return {};
    if (p.value !== undefined) return { value: p.value };
    if (!p.secretKeyRef) return {};
    const r = lookupSecret(model.secrets, p.secretKeyRef, opts.resolveSecret);
    return 'value' in r ? { value: r.value } : { error: `${where}: ${r.error}` };
  };

  const emit = (t: Target, kind: PeerKind, description: string, localAs: number, res?: BgpPeerResource, calicoPair = false) => {
    if (myAddrs.has(t.address)) return; // never peer with ourselves
    const key = peerKey(t.address, t.port);
    if (out.has(key)) return; // first planned wins (see the header)
    const myAddr = addrOf(me, t.family);
    if (!myAddr) return; // no address of this family: the session could not be sourced
    const ibgp = t.peerAs === localAs;
    // RFC 4456 §7/§8: reflectors sharing a cluster ID are not each other's clients.
    const peerNode = t.node ?? byAddr.get(t.address);
    const rrClient = !!me.routeReflectorClusterID && ibgp && peerNode?.routeReflectorClusterID !== me.routeReflectorClusterID;
    const toReflector = !rrClient && ibgp && !!peerNode?.routeReflectorClusterID && peerNode.routeReflectorClusterID !== me.routeReflectorClusterID;
    let nextHopMode: NextHopMode = res?.nextHopMode ?? 'Auto';
    // Calico applies the legacy keepOriginalNextHop only to eBGP peers.
    if (!res?.nextHopMode && res?.keepOriginalNextHop && !ibgp) nextHopMode = 'Keep';
    const useSource = !res || res.sourceAddress === 'UseNodeIP' || model.bgpConfig.bindMode === 'NodeIP';
    const pc: PeerConfig = {
      key,
      kind: kind === 'mesh' ? 'mesh' : rrClient ? 'rr-client' : toReflector ? 'reflector' : kind,
      description,
      peerAddress: t.address,
      peerPort: t.port,
      peerAs: t.peerAs,
      localAs,
      nextHopMode,
      routeReflectorClient: rrClient,
      families: [t.family],
      filters: res?.filters.filter((f) => model.filters.has(f)) ?? [],
    };
    if (useSource) pc.localAddress = myAddr;
    const pw =
      kind === 'mesh'
        ? password(model.bgpConfig.nodeMeshPassword, 'BGPConfiguration default spec.nodeMeshPassword')
        : password(res?.password, `BGPPeer ${res?.name} spec.password`);
    if (pw.value) pc.password = pw.value;
    if (pw.error) pc.passwordError = pw.error;
    if (res?.ttlSecurity) pc.ttlSecurity = res.ttlSecurity;
    if (res?.keepaliveTime !== undefined) {
      pc.keepaliveTime = res.keepaliveTime;
      pc.holdTime = res.keepaliveTime * 3;
    }
    const restart = kind === 'mesh' ? model.bgpConfig.nodeMeshMaxRestartTime : res?.maxRestartTime;
    if (restart !== undefined) pc.maxRestartTime = Math.round(restart);
    if (res?.numAllowedLocalASNumbers) pc.numAllowedLocalASNumbers = res.numAllowedLocalASNumbers;
    if (res?.reachableBy) pc.reachableBy = res.reachableBy;
    const bfd = kind === 'mesh' ? model.bgpConfig.nodeMeshBFD : res?.bfd;
    if (bfd) {
      const { authentication: a, ...rest } = bfd;
      if (!a) pc.bfd = { ...rest };
      else {
        // A BFD key that cannot be read holds the session down like an MD5 password would:
        // nothing configured with authentication runs without it.
        const k = password(
          a.key,
          kind === 'mesh' ? 'BGPConfiguration default spec.nodeMeshBFD.authentication.key' : `BGPPeer ${res?.name} spec.bfd.authentication.key`,
        );
        pc.bfd = { ...rest, auth: { type: a.type, keyId: a.keyID, key: k.value ?? '' } };
        if (k.error && !pc.passwordError) pc.passwordError = k.error;
      }
    }
    if (res?.maxPrefixes && Object.keys(res.maxPrefixes).length) pc.maxPrefixes = { ...res.maxPrefixes };
    if (peerNode) pc.sourceNode = peerNode.name;
    // Calico (bgp_processor.go): between two Calico nodes on a mesh or global peering, only the
    // side with the lower address (Go string order, so mixed Calico/Tern clusters agree) connects.
    if (calicoPair && t.address > myAddr) pc.passive = true;
    out.set(key, pc);
  };

  const nodeTargets = (n: CalicoNode, families: Family[]): Target[] =>
    families.flatMap((f) => {
      const a = addrOf(n, f);
      return a ? [{ address: a, family: f, port: nodePort(model, n.name), peerAs: nodeAs(model, n), node: n }] : [];
    });
  const appliesTo = (p: BgpPeerResource, n: CalicoNode): boolean =>
    p.nodeSelector ? p.nodeSelector.matches(n.labels) : p.node !== undefined ? p.node === n.name : true;
  /** Calico nodesWithIPPortAndAS: the nodes that are the far end of an address-based BGPPeer. */
  const isFarEnd = (p: BgpPeerResource, n: CalicoNode): boolean => {
    if (p.peerSelector) return p.peerSelector.matches(n.labels);
    if (!p.peerIP || addrOf(n, p.peerIP.family) !== p.peerIP.address) return false;
    if ((p.asNumber ?? model.bgpConfig.asNumber) !== nodeAs(model, n)) return false;
    return p.peerIP.port === undefined || p.peerIP.port === nodePort(model, n.name);
  };
  const scope = (p: BgpPeerResource): PeerKind => (p.nodeSelector ? 'selector' : p.node !== undefined ? 'node' : 'global');

  // Steps 2 and 3: forward peerings, global BGPPeers before node-scoped ones.
  for (const globalPass of [true, false]) {
    for (const p of model.peers) {
      if ((scope(p) === 'global') !== globalPass || !appliesTo(p, me)) continue;
      const localAs = p.localASNumber ?? myAs;
      if (p.peerSelector) {
        for (const n of model.nodes) {
          if (n === me || !p.peerSelector.matches(n.labels)) continue;
          for (const t of nodeTargets(n, FAMILIES)) emit(t, scope(p), `BGPPeer ${p.name} (${scope(p)}): node ${n.name} selected by peerSelector`, localAs, p);
        }
      } else if (p.peerIP) {
        // Calico: without an explicit port, a peer that is a Calico node (same address and AS) is reached on that node's listenPort.
        const farNode = model.nodes.find((n) => n.ipv4Address === p.peerIP!.address || n.ipv6Address === p.peerIP!.address);
        const port = p.peerIP.port ?? (farNode && nodeAs(model, farNode) === p.asNumber ? nodePort(model, farNode.name) : 179);
        emit(
          { address: p.peerIP.address, family: p.peerIP.family, port, peerAs: p.asNumber ?? myAs, node: farNode },
          scope(p),
          `BGPPeer ${p.name} (${scope(p)})`,
          localAs,
          p,
          globalPass && !!farNode,
        );
      }
    }
  }
  for (const p of model.peers) {
    // reversePeering Manual (Calico confd automaticReversePeering): the far end peers back only
    // through a BGPPeer of its own.
    if (p.reversePeering === 'Manual' || !isFarEnd(p, me)) continue;
    const families = p.peerSelector ? FAMILIES : [p.peerIP!.family];
    for (const n of model.nodes) {
      if (n === me || !appliesTo(p, n)) continue;
      // The far end of the reverse session is the node the BGPPeer applies to; it speaks with
      // the BGPPeer's localASNumber when one is set.
      for (const t of nodeTargets(n, families)) {
        emit({ ...t, peerAs: p.localASNumber ?? t.peerAs }, scope(p), `BGPPeer ${p.name} (reverse): node ${n.name} peers with this node`, myAs, p);
      }
    }
  }
  // Step 1: the mesh (route reflectors neither mesh nor are meshed with).
  if (model.bgpConfig.nodeToNodeMeshEnabled && !me.routeReflectorClusterID) {
    for (const n of model.nodes) {
      if (n === me || n.routeReflectorClusterID) continue;
      for (const t of nodeTargets(n, FAMILIES)) emit(t, 'mesh', `node-to-node mesh with ${n.name}`, myAs, undefined, true);
    }
  }
  return [...out.values()];
}
