// bgpctl's text output: one pure function per view, view -> lines. The JSON output is the view
// objects themselves (OpenBGPD's bgpctl: one output interface, a text and a JSON implementation).
import type {
  CapabilityView,
  ConfigView,
  ErrorView,
  FibRowView,
  HealthView,
  NeighborView,
  NextHopView,
  PeerView,
  ReloadResult,
  RibRowView,
  RibSummaryView,
  StatusView,
} from '../control/api.js';
import { cell, paint, table, upDown, type Color, type TextOptions } from './table.js';

export type { TextOptions } from './table.js';

const stateColor = (s: string): Color => (s === 'Established' ? 'green' : s === 'Idle' ? 'red' : 'yellow');

/** `show peers`: OpenBGPD's summary columns, then the peer's kind and description. */
export function formatPeers(peers: PeerView[], o: TextOptions): string[] {
  const header = ['Neighbor', 'AS', 'MsgRcvd', 'MsgSent', 'OutQ', 'Up/Down', 'State/PfxRcvd', 'Kind', 'Description'].map((h, i) =>
    cell(h, { right: i >= 1 && i <= 4 }),
  );
  const rows = peers.map((p) => {
    const st = p.state === 'Established' ? String(p.prefixesReceived) : p.heldDown ? `${p.state} (held down)` : p.adminDown ? `${p.state} (Admin)` : p.state;
    return [
      cell(p.address),
      cell(p.asn, { right: true }),
      cell(p.msgRcvd, { right: true }),
      cell(p.msgSent, { right: true }),
      cell(p.outQ, { right: true }),
      cell(upDown(p.since, o.now)),
      cell(st, { color: stateColor(p.state) }),
      cell(p.kind),
      cell(p.description),
    ];
  });
  return table(o, header, rows, { trimLast: true });
}

const capText = (c: CapabilityView): string => (c.value ? `${c.name} ${c.value}` : c.name);
const errText = (e: ErrorView | null, o: TextOptions): string =>
  e === null
    ? 'none'
    : `${e.name} (${e.code}/${e.subcode}) ${upDown(e.at, o.now)} ago` + (e.shutdownMessage !== undefined ? `, shutdown message "${e.shutdownMessage}"` : '');
const secs = (n: number | null): string => (n === null ? '-' : `${n}s`);

/** `show neighbor <addr>`, laid out like OpenBGPD's `bgpctl show neighbor`. */
export function formatNeighbor(n: NeighborView, o: TextOptions): string[] {
  const link = n.asn === n.localAsn ? 'internal link' : 'external link';
  const out = [
    `BGP neighbor is ${n.address}, remote AS ${n.asn}, local AS ${n.localAsn}, ${link}`,
    ` Description: ${n.description || '-'}`,
    ` Kind: ${n.kind}, route reflection: ${n.routeReflector}${n.md5 ? ', TCP MD5' : ''}`,
    `  BGP version 4, remote router-id ${n.remoteRouterId || '-'}, local router-id ${n.localRouterId}`,
    `  BGP state = ${paint(o, stateColor(n.state), n.state)}${n.adminDown ? ' (administratively down)' : ''}, ${
      n.state === 'Established' ? 'up' : 'down'
    } for ${upDown(n.since, o.now)}`,
    ...(n.heldDown ? [`  Held down: ${n.heldDown}`] : []),
    `  Established ${n.establishedTransitions} ${n.establishedTransitions === 1 ? 'time' : 'times'}; last reset: ${n.lastResetReason || 'never'}`,
    ...(n.lastConnectError ? [`  Last connect error: ${n.lastConnectError}`] : []),
    ...(n.hints ?? []).map((h) => `  Hint: ${h}`),
    `  Hold time ${secs(n.holdTimeNegotiated)} (configured ${n.holdTimeConfigured}s), keepalive ${secs(n.keepaliveNegotiated)} (configured ${n.keepaliveConfigured}s)`,
    '',
    '  Capabilities:',
  ];
  for (const [label, caps] of [
    ['ours', n.capabilities.ours],
    ['theirs', n.capabilities.theirs],
    ['negotiated', n.capabilities.negotiated],
  ] as const) {
    out.push(`    ${(label + ':').padEnd(11)} ${caps.length ? caps.map(capText).join(', ') : '-'}`);
  }
  const gr = n.gracefulRestart;
  out.push(
    '',
    `  Graceful restart: ${gr.negotiated ? 'negotiated' : 'not negotiated'}, restart time ours ${secs(gr.localRestartTime)} theirs ${secs(gr.remoteRestartTime)}`,
    `    forwarding preserved by peer: ${gr.remoteForwardingFamilies.join(', ') || '-'}; peer restarting: ${gr.peerRestarting ? 'yes' : 'no'}; stale routes: ${gr.staleRoutes}` +
      (gr.restartTimerRemaining !== null ? `; restart timer ${gr.restartTimerRemaining}s` : '') +
      (gr.staleTimerRemaining !== null ? `; stale timer ${gr.staleTimerRemaining}s` : ''),
    '',
    '  Message statistics:',
  );
  const m = n.messages;
  const msgRows = (['open', 'notification', 'update', 'keepalive', 'routeRefresh', 'total'] as const).map((k) => [
    cell(`  ${k === 'routeRefresh' ? 'Route Refresh' : k[0].toUpperCase() + k.slice(1)}`),
    cell(m.sent[k], { right: true }),
    cell(m.received[k], { right: true }),
  ]);
  out.push(...table({ ...o, color: false }, [cell(''), cell('Sent', { right: true }), cell('Received', { right: true })], msgRows).map((l) => '  ' + l));
  out.push('', '  Prefixes:');
  const pfxRows = n.prefixes.map((p) => [
    cell(`  ${p.family}`),
    cell(p.received, { right: true }),
    cell(p.accepted, { right: true }),
    cell(p.sent, { right: true }),
    cell(p.stale, { right: true }),
  ]);
  const pfxHeader = [cell(''), ...['Received', 'Accepted', 'Sent', 'Stale'].map((h) => cell(h, { right: true }))];
  out.push(...table({ ...o, color: false }, pfxHeader, pfxRows).map((l) => '  ' + l));
  out.push(`  Update queue: ${n.outQ}`, '', '  Update errors (RFC 7606):');
  if (n.updateErrors.length === 0) out.push('    none');
  for (const u of n.updateErrors) out.push(`    ${u.attribute} (${u.attrType}): ${u.action} x${u.count}`);
  for (const m of n.maxPrefixes) {
    out.push(
      `  Max-prefix ${m.family}: ${m.received} of ${m.limit} (warning at ${m.warningPercent}%), ${m.restartInterval === null ? 'stays down when exceeded' : `restart after ${m.restartInterval}s`}`,
    );
  }
  const x = n.maxPrefixExceeded;
  if (x) {
    out.push(
      `  Max-prefix exceeded: ${x.received} ${x.family} routes > ${x.limit}, Cease 6/1 sent; ${x.restartInSeconds === null ? 'down until bgpctl neighbor up or clear' : `restarts in ${x.restartInSeconds}s`}`,
    );
  }
  const l = n.routesLeftOut;
  out.push(
    `  Routes left out: ${l.tooLargeNotSent} too large to send (RFC 8654 §4), ${l.badNextHopIgnored} ignored for their next hop (RFC 4271 §6.3)` +
      (l.oversizeMessagesRefused ? `; ${l.oversizeMessagesRefused} oversize messages refused` : ''),
    '',
    `  Last error sent:     ${errText(n.lastErrorSent, o)}`,
    `  Last error received: ${errText(n.lastErrorReceived, o)}`,
    '',
    `  Local host:  ${n.localAddress || '-'}, Local port:  ${n.localPort || '-'}`,
    `  Remote host: ${n.remoteAddress}, Remote port: ${n.remotePort}`,
  );
  return out;
}

/** The legend printed once before `show rib` rows. */
export const RIB_LEGEND = ['flags: * = valid, > = best, = = multipath, I = iBGP, S = stale, F = filtered', 'origin: i = IGP, e = EGP, ? = incomplete', ''];

const RIB_COLUMNS = { peer: 15, flags: 6, prefix: 20, nextHop: 16, lpref: 6, med: 6 };

/** `peerColumn`: a first column naming the neighbor of each row ('to' for Adj-RIB-Out of all). */
export function ribHeader(o: TextOptions, peerColumn?: string): string {
  const c = RIB_COLUMNS;
  const lead = peerColumn ? `${peerColumn.padEnd(c.peer)} ` : '';
  return paint(
    o,
    'bold',
    `${lead}${'flags'.padEnd(c.flags)} ${'prefix'.padEnd(c.prefix)} ${'nexthop'.padEnd(c.nextHop)} ${'lpref'.padStart(c.lpref)} ${'med'.padStart(c.med)} aspath origin`,
  );
}

export function ribFlags(r: RibRowView): string {
  const f = r.flags;
  return (f.valid ? '*' : '') + (f.best ? '>' : '') + (f.multipath ? '=' : '') + (f.ibgp ? 'I' : '') + (f.stale ? 'S' : '') + (f.filtered ? 'F' : '');
}

/** A locally originated path has no next hop yet; print it as OpenBGPD does (0.0.0.0 / ::). */
const nextHopText = (r: RibRowView): string => r.nextHop || (r.family === 'ipv6' ? '::' : '0.0.0.0');

/**
 * One summary row, fixed column widths so rows can be printed as they stream in (a long prefix
 * or next hop pushes the rest of its row right rather than holding back the whole table).
 */
export function formatRibRow(r: RibRowView, o: TextOptions, peerColumn?: string): string {
  const c = RIB_COLUMNS;
  const num = (v: number | undefined, w: number): string => (v === undefined ? '-' : String(v)).padStart(w);
  const path = r.asPath ? `${r.asPath} ${r.origin}` : r.origin;
  const line = `${peerColumn ? `${r.peer.padEnd(c.peer)} ` : ''}${ribFlags(r).padEnd(c.flags)} ${r.prefix.padEnd(c.prefix)} ${nextHopText(r).padEnd(c.nextHop)} ${num(r.localPref, c.lpref)} ${num(r.med, c.med)} ${path}`;
  return paint(o, r.flags.best ? undefined : 'dim', line);
}

const ORIGIN_WORD = { i: 'IGP', e: 'EGP', '?': 'incomplete' } as const;

/** `show rib --detail`: every path with every attribute, and why it lost. */
export function formatRibDetail(r: RibRowView, previousPrefix: string | null, o: TextOptions): string[] {
  const out: string[] = [];
  if (previousPrefix !== null) out.push('');
  if (r.prefix !== previousPrefix) out.push(paint(o, 'bold', `BGP routing table entry for ${r.prefix}`));
  const f = r.flags;
  const words = [
    f.valid ? 'valid' : 'invalid',
    r.peer === 'local' ? 'local' : f.ibgp ? 'internal' : 'external',
    ...(f.best ? ['best'] : []),
    ...(f.multipath ? ['multipath'] : []),
    ...(f.stale ? ['stale'] : []),
    ...(f.filtered ? ['filtered'] : []),
  ];
  const attrs = [
    `Origin ${ORIGIN_WORD[r.origin]}`,
    ...(r.med !== undefined ? [`metric ${r.med}`] : []),
    ...(r.localPref !== undefined ? [`localpref ${r.localPref}`] : []),
    ...words,
  ];
  out.push(
    `    AS path: ${r.asPath || '(empty)'}`,
    `    Nexthop ${nextHopText(r)} from ${r.peer}${r.pathId !== undefined ? ` (path id ${r.pathId})` : ''}`,
    `    ${attrs.join(', ')}`,
  );
  if (r.communities?.length) out.push(`    Communities: ${r.communities.join(' ')}`);
  if (r.largeCommunities?.length) out.push(`    Large Communities: ${r.largeCommunities.join(' ')}`);
  if (r.originatorId) out.push(`    Originator ID: ${r.originatorId}`);
  if (r.clusterList?.length) out.push(`    Cluster list: ${r.clusterList.join(' ')}`);
  if (r.lastUpdate) out.push(`    Last update: ${upDown(r.lastUpdate, o.now)} ago`);
  if (r.reason) out.push(paint(o, 'yellow', `    Not best: step ${r.reason.step}, ${r.reason.text}`));
  return out;
}

const hops = (h: NextHopView[] | null): string =>
  h === null
    ? '-'
    : h.length === 0
      ? 'blackhole'
      : h
          .map((x) =>
            [x.via || 'direct', x.dev ? `dev ${x.dev}` : '', x.weight !== undefined && h.length > 1 ? `weight ${x.weight}` : ''].filter(Boolean).join(' '),
          )
          .join(', ');

const FIB_STATUS: Record<FibRowView['status'], { text: string; color?: Color }> = {
  ok: { text: 'ok' },
  missing: { text: 'MISSING', color: 'red' },
  different: { text: 'DIFFERENT', color: 'red' },
  extra: { text: 'EXTRA', color: 'yellow' },
};

/**
 * `show fib`: Tern's intent beside the kernel's table; anything but ok is marked. `fib` says
 * whether the kernel is written at all: with --fib none there is no kernel side to compare, and
 * while decoupled a difference is expected, not a fault.
 */
export function formatFib(rows: FibRowView[], o: TextOptions, fib?: StatusView['fib']): string[] {
  if (fib?.driver === 'none') return [`ternd runs with --fib none: no routes are written to the kernel (${fib.routes} routes wanted); see bgpctl show rib`];
  const withMetric = (text: string, m: number | undefined, own: boolean) => (own && m !== undefined ? `${text} metric ${m}` : text);
  const body = rows.map((r) => [
    cell(FIB_STATUS[r.status].text, { color: FIB_STATUS[r.status].color }),
    cell(r.prefix),
    cell(withMetric(hops(r.tern), r.metric, r.metric !== undefined)),
    cell(withMetric(hops(r.kernel), r.kernelMetric, r.metric !== undefined && r.kernel !== null)),
  ]);
  const lines = table(o, [cell('Status'), cell('Prefix'), cell('Tern'), cell('Kernel')], body);
  const bad = rows.filter((r) => r.status !== 'ok').length;
  const decoupled = fib !== undefined && !fib.coupled;
  if (decoupled)
    lines.push('', paint(o, 'yellow', `FIB decoupled: kernel writes are off (bgpctl fib couple); ${rows.length} routes, ${bad} differ from the kernel`));
  else lines.push('', bad === 0 ? `${rows.length} routes, kernel in sync` : `${rows.length} routes, ${bad} differ from the kernel`);
  return lines;
}

/** The FIB state in words: never "decoupled" for --fib none, which has no kernel to couple to. */
export function fibWords(f: { driver: string; coupled: boolean }): string {
  if (f.driver === 'none') return 'none (--fib none: routes stay in the RIB, nothing is written to the kernel)';
  return f.coupled ? `${f.driver}, coupled (routes are written)` : `${f.driver}, decoupled (writes off; the kernel keeps the routes it has)`;
}

/** `show config`: the effective model for this node. */
export function formatConfig(c: ConfigView, o: TextOptions): string[] {
  const out = [
    `Node ${c.nodeName}, AS ${c.asn}, router-id ${c.routerId}${c.clusterId ? `, cluster-id ${c.clusterId}` : ''}`,
    ...(c.source ? [`Source: ${c.source}`] : []),
    `Listen: ${c.listen.join(' ') || '-'}`,
    ...(c.fib ? [`FIB: ${fibWords(c.fib)}`] : []),
    ...(c.logLevel ? [`Log level: ${c.logLevel}`] : []),
    '',
    'Peers:',
  ];
  out.push(
    ...table(
      o,
      [cell('Key'), cell('Kind'), cell('Why')],
      c.peers.map((p) => [cell(p.key), cell(p.kind), cell(p.why)]),
    ).map((l) => '  ' + l),
  );
  out.push('', 'Advertised:');
  out.push(
    ...table(
      o,
      [cell('Prefix'), cell('Communities')],
      c.advertised.map((a) => [cell(a.prefix), cell([...(a.communities ?? []), ...(a.largeCommunities ?? [])].join(' '))]),
    ).map((l) => '  ' + l),
  );
  return out;
}

/** `health`: one verdict line (what an exec probe logs), then the reasons. */
export function formatHealth(h: HealthView, o: TextOptions): string[] {
  const s = h.sessions;
  const verdict = h.ready ? paint(o, 'green', 'ready') : paint(o, 'red', 'not ready');
  const out = [
    `${verdict}: ${h.live ? 'live' : 'NOT live'}, config ${h.configLoaded ? 'loaded' : 'not loaded'}, ${h.listening ? 'listening' : 'not listening'}, ` +
      `${s.established}/${s.planned} sessions Established, ${s.withinGrace} within grace`,
  ];
  for (const r of h.reasons) out.push(`  - ${r}`);
  // A stale or refused datastore does not make ternd unready (the last good model stays in
  // force), but an operator asking about health wants to know.
  const ds = h.datastore;
  if (ds && ds.state !== 'synced')
    out.push(
      `  note: datastore ${ds.kind} ${ds.source} is ${ds.state} since ${ds.since}${ds.detail ? `: ${ds.detail}` : ''}${ds.state === 'stale' || ds.state === 'error' ? ' (the last good model stays in force)' : ''}`,
    );
  return out;
}

export function formatReload(r: ReloadResult): string[] {
  const warnings = (r.warnings ?? []).length ? ['warnings:', ...(r.warnings ?? []).map((w) => `  - ${w}`)] : [];
  if (!r.ok) return ['reload failed; the running configuration is unchanged:', ...(r.errors ?? []).map((e) => `  - ${e}`), ...warnings];
  const effects = r.effects ?? [];
  return [effects.length ? 'reload done:' : 'reload done: no changes', ...effects.map((e) => `  - ${e}`), ...warnings];
}

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

/** `show status`: BIRD's `show status` and the head of OpenBGPD's `show summary`, in one block. */
export function formatStatus(s: StatusView, o: TextOptions): string[] {
  const commit = s.commit === 'unknown' ? 'commit unknown' : `commit ${s.commit.slice(0, 12)}${s.dirty ? '+dirty' : ''}`;
  const ds = s.datastore;
  const rows: Array<[string, string]> = [
    ['Version', `ternd ${s.version} (${commit}, node ${s.nodeVersion}), pid ${s.pid}`],
    ['Started', `${s.startedAt}, up ${upDown(s.startedAt, o.now)}`],
    ['Node', `${s.nodeName}, AS ${s.asn}, router ID ${s.routerId}`],
    ['Sessions', `${s.sessions.established}/${s.sessions.configured} Established${s.sessions.adminDown ? `, ${s.sessions.adminDown} admin down` : ''}`],
    ['RIB', s.rib.map((r) => `${r.family} ${r.prefixes} prefixes, ${r.paths} paths`).join('; ')],
    ['FIB', `${fibWords(s.fib)}${s.fib.driver === 'none' ? '' : `, ${s.fib.routes} routes`}`],
    ['Memory', `RSS ${mib(s.memory.rssBytes)}, heap ${mib(s.memory.heapUsedBytes)}, external ${mib(s.memory.externalBytes)}`],
    ...(ds
      ? [
          [
            'Datastore',
            `${ds.kind} ${ds.source}: ${ds.state} since ${ds.since}${ds.lastSync ? `, model of ${ds.lastSync}` : ''}${ds.detail ? ` (${ds.detail})` : ''}`,
          ] as [string, string],
        ]
      : []),
    ['Log level', s.logLevel],
  ];
  return rows.map(([k, v]) => `${paint(o, 'bold', (k + ':').padEnd(11))} ${v}`);
}

/** `show rib summary`: counts per family, then per peer and family. */
export function formatRibSummary(s: RibSummaryView, o: TextOptions): string[] {
  const out = table(
    o,
    [cell('Family'), cell('Prefixes', { right: true }), cell('Paths', { right: true })],
    s.families.map((f) => [cell(f.family), cell(f.prefixes, { right: true }), cell(f.paths, { right: true })]),
  );
  out.push('');
  const head = [cell('Neighbor'), cell('Family'), cell('State'), ...['Received', 'Accepted', 'Sent', 'Stale'].map((h) => cell(h, { right: true }))];
  const rows = s.peers.map((p) => [
    cell(p.address),
    cell(p.family),
    cell(p.state, { color: stateColor(p.state) }),
    ...[p.received, p.accepted, p.sent, p.stale].map((n) => cell(n, { right: true })),
  ]);
  out.push(...table(o, head, rows));
  return out;
}
