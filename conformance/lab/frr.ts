// FRR 8.4 in a lab namespace: bgpd in the foreground with its own config, pid file and vty
// socket directory (so several instances coexist), by default without zebra (-Z); optionally
// with a zebra of its own when routes must reach the namespace FIB. Helpers wrap vtysh JSON.

import * as fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { GiveUp, type Lab, waitFor } from './lab.js';
import { peerMode, peerTool, startPeerDaemon } from './peer-runtime.js';

export const FRR_DIR = process.env.TERN_FRR_DIR ?? '/usr/lib/frr';
export const BGPD = `${FRR_DIR}/bgpd`;
export const ZEBRA = `${FRR_DIR}/zebra`;
export const BFDD = `${FRR_DIR}/bfdd`;
export const VTYSH = process.env.TERN_VTYSH ?? '/usr/bin/vtysh';

export interface FrrAf {
  addpathTxAll?: boolean;
  routeMapIn?: string;
  routeMapOut?: string;
  nextHopSelf?: boolean;
  rrClient?: boolean;
  /**
   * Global IPv6 next hop to announce (generates an outbound route-map). Needed without zebra:
   * bgpd then does not know its interface addresses and announces an IPv4-mapped next hop
   * (::ffff:a.b.c.d) for IPv6 routes on an IPv4 session, which BIRD rejects.
   */
  ipv6NextHop?: string;
  extra?: string[];
}

export interface FrrNeighbor {
  addr: string;
  remoteAs: number | 'internal' | 'external';
  passive?: boolean;
  password?: string;
  /** Default 1 s keepalive / 3 s hold. */
  keepalive?: number;
  holdTime?: number;
  /** ConnectRetry timer, default 1 s. */
  connectTime?: number;
  ttlSecurityHops?: number;
  ebgpMultihop?: number;
  updateSource?: string;
  shutdown?: boolean;
  /** Default: ipv4 activated, ipv6 not. */
  ipv4?: FrrAf | boolean;
  ipv6?: FrrAf | boolean;
  extra?: string[];
}

export interface FrrNetwork {
  prefix: string;
  routeMap?: string;
}

export interface FrrConfig {
  asn: number;
  routerId: string;
  neighbors: FrrNeighbor[];
  networks4?: (string | FrrNetwork)[];
  networks6?: (string | FrrNetwork)[];
  gracefulRestart?: boolean;
  /** Raw route-map / prefix-list text placed before `router bgp`. */
  routeMaps?: string;
  /** Raw lines inside `router bgp`, before the address families. */
  extra?: string[];
}

/** Render an FRR bgpd configuration. */
export function frrConfig(cfg: FrrConfig, host: string, logFile: string): string {
  const out = ['frr defaults traditional', `hostname ${host}`, `log file ${logFile} debugging`, '!'];
  const maps: string[] = [];
  cfg.neighbors.forEach((n, i) => {
    const af = typeof n.ipv6 === 'object' ? n.ipv6 : undefined;
    if (af?.ipv6NextHop && !af.routeMapOut) maps.push(`route-map TERN-NH6-${i} permit 10`, ` set ipv6 next-hop global ${af.ipv6NextHop}`, '!');
  });
  out.push(...maps);
  if (cfg.routeMaps) out.push(cfg.routeMaps, '!');
  out.push(
    `router bgp ${cfg.asn}`,
    ` bgp router-id ${cfg.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
  );
  if (cfg.gracefulRestart) out.push(' bgp graceful-restart');
  out.push(' timers bgp 1 3');
  for (const n of cfg.neighbors) {
    const a = n.addr;
    out.push(` neighbor ${a} remote-as ${n.remoteAs}`);
    out.push(` neighbor ${a} timers ${n.keepalive ?? 1} ${n.holdTime ?? 3}`);
    out.push(` neighbor ${a} timers connect ${n.connectTime ?? 1}`);
    if (n.passive) out.push(` neighbor ${a} passive`);
    if (n.password !== undefined) out.push(` neighbor ${a} password ${n.password}`);
    if (n.ttlSecurityHops !== undefined) out.push(` neighbor ${a} ttl-security hops ${n.ttlSecurityHops}`);
    if (n.ebgpMultihop !== undefined) out.push(` neighbor ${a} ebgp-multihop ${n.ebgpMultihop}`);
    if (n.updateSource) out.push(` neighbor ${a} update-source ${n.updateSource}`);
    if (n.shutdown) out.push(` neighbor ${a} shutdown`);
    out.push(...(n.extra ?? []).map((l) => ` ${l.replace('$ADDR', a)}`));
  }
  out.push(...(cfg.extra ?? []).map((l) => ` ${l}`));
  for (const family of ['ipv4', 'ipv6'] as const) {
    const nets = (family === 'ipv4' ? cfg.networks4 : cfg.networks6) ?? [];
    const active = cfg.neighbors.map((n, i) => [n, i, n[family] ?? family === 'ipv4'] as const).filter(([, , af]) => af !== false);
    if (!nets.length && !active.length) continue;
    out.push(` address-family ${family} unicast`);
    for (const net of nets) {
      const nw = typeof net === 'string' ? { prefix: net } : net;
      out.push(`  network ${nw.prefix}${nw.routeMap ? ` route-map ${nw.routeMap}` : ''}`);
    }
    for (const [n, i, afv] of active) {
      const af: FrrAf = typeof afv === 'object' ? afv : {};
      out.push(`  neighbor ${n.addr} activate`);
      if (af.addpathTxAll) out.push(`  neighbor ${n.addr} addpath-tx-all-paths`);
      if (af.nextHopSelf) out.push(`  neighbor ${n.addr} next-hop-self`);
      if (af.rrClient) out.push(`  neighbor ${n.addr} route-reflector-client`);
      if (af.routeMapIn) out.push(`  neighbor ${n.addr} route-map ${af.routeMapIn} in`);
      const mapOut = af.routeMapOut ?? (af.ipv6NextHop ? `TERN-NH6-${i}` : undefined);
      if (mapOut) out.push(`  neighbor ${n.addr} route-map ${mapOut} out`);
      out.push(...(af.extra ?? []).map((l) => `  ${l.replace('$ADDR', n.addr)}`));
    }
    out.push(' exit-address-family');
  }
  out.push('!');
  return out.join('\n') + '\n';
}

export interface Frr {
  host: string;
  /** Directory holding the vty sockets (`vtysh --vty_socket`), pid files and configs. */
  vtyDir: string;
  configFile: string;
  logFile: string;
  pid: number;
  child: ChildProcess;
  zebra?: { pid: number; child: ChildProcess; zservSocket: string };
  /** bgpd's container in TERN_PEERS=containers mode (conformance/lab/peer-runtime.ts). */
  container?: string;
  bfdd?: { pid: number; child: ChildProcess };
}

/**
 * Start bgpd (and, with `zebra: true`, a zebra of its own that installs routes into the
 * namespace FIB) in `host`. Runs as root with -S: Debian's bgpd otherwise drops to user frr
 * and refuses to start unless the user is in group frrvty.
 */
/**
 * `bfdd`: also run FRR's BFD daemon with this configuration text (e.g. a `bfd` block with a
 * profile); bgpd reaches it through zebra, so zebra is started too.
 */
export async function startFrr(lab: Lab, host: string, cfg: FrrConfig, opts: { zebra?: boolean; bfdd?: string } = {}): Promise<Frr> {
  if (opts.bfdd !== undefined) opts = { ...opts, zebra: true };
  const vtyDir = lab.file(`frr-${host}`);
  fs.mkdirSync(vtyDir, { recursive: true });
  const configFile = `${vtyDir}/bgpd.conf`;
  const logFile = `${vtyDir}/bgpd.log`;
  fs.writeFileSync(configFile, frrConfig(cfg, host, logFile));
  const common = ['-S', '--vty_socket', vtyDir, '-P', '0', '-A', '127.0.0.1'];
  let zebra: Frr['zebra'];
  const zserv = `${vtyDir}/zserv.api`;
  if (opts.zebra) {
    fs.writeFileSync(`${vtyDir}/zebra.conf`, `hostname ${host}\nlog file ${vtyDir}/zebra.log debugging\n`);
    // zebra has no -S; as root it still insists that its user be in the vty group (frrvty),
    // and `-g frrvty` satisfies that while it keeps running as root.
    const zArgs = ['-u', 'root', '-g', vtyGroup(), ...common.filter((a) => a !== '-S')];
    const zc = await startPeerDaemon(lab, host, 'frr', ZEBRA, [...zArgs, '-f', `${vtyDir}/zebra.conf`, '-i', `${vtyDir}/zebra.pid`, '-z', zserv], {
      logFile: `${vtyDir}/zebra.out`,
      name: 'zebra',
    });
    zebra = { pid: zc.pid, child: zc.child, zservSocket: zserv };
    await waitFor(`zebra socket in ${host}`, 10_000, () => fs.existsSync(zserv) && fs.existsSync(`${vtyDir}/zebra.vty`));
  }
  let bfdd: Frr['bfdd'];
  if (opts.bfdd !== undefined) {
    fs.writeFileSync(`${vtyDir}/bfdd.conf`, `hostname ${host}\nlog file ${vtyDir}/bfdd.log debugging\n${opts.bfdd}\n`);
    const bArgs = ['-u', 'root', '-g', vtyGroup(), ...common.filter((a) => a !== '-S'), '--bfdctl', `${vtyDir}/bfdd.sock`];
    const bc = await startPeerDaemon(lab, host, 'frr', BFDD, [...bArgs, '-f', `${vtyDir}/bfdd.conf`, '-i', `${vtyDir}/bfdd.pid`, '-z', zserv], {
      logFile: `${vtyDir}/bfdd.out`,
      name: 'bfdd',
    });
    bfdd = { pid: bc.pid, child: bc.child };
    await waitFor(`bfdd vty in ${host}`, 10_000, () => fs.existsSync(`${vtyDir}/bfdd.vty`));
  }
  const args = [...common, '-f', configFile, '-i', `${vtyDir}/bgpd.pid`, ...(opts.zebra ? ['-z', zserv] : ['-Z'])];
  const d = await startPeerDaemon(lab, host, 'frr', BGPD, args, { logFile: `${vtyDir}/bgpd.out`, name: 'bgpd' });
  const child = d.child;
  const frr: Frr = { host, vtyDir, configFile, logFile, pid: d.pid, child, zebra, container: d.container, bfdd };
  lab.instances.set(`frr:${host}`, frr);
  await waitFor(`bgpd vty in ${host}`, 10_000, async () => {
    if (child.exitCode !== null) throw new GiveUp(`bgpd exited ${child.exitCode}: ${fs.readFileSync(`${vtyDir}/bgpd.out`, 'utf8')}`);
    return (await peerTool('frr', d.container, VTYSH, ['--vty_socket', vtyDir, '-d', 'bgpd', '-c', 'show bgp summary json'])).code === 0;
  });
  return frr;
}

/** The group FRR's vty sockets belong to (Debian: frrvty); root if there is none. */
function vtyGroup(): string {
  if (peerMode() === 'containers') return 'frrvty'; // the image's frr package made it
  try {
    return /^frrvty:/m.test(fs.readFileSync('/etc/group', 'utf8')) ? 'frrvty' : 'root';
  } catch {
    return 'root';
  }
}

function frrOf(lab: Lab, host: string): Frr {
  const f = lab.instances.get(`frr:${host}`) as Frr | undefined;
  if (!f) throw new Error(`no FRR started in ${host}`);
  return f;
}

/** Run vtysh commands (each a `-c`) against the bgpd in `host`; returns the output. */
export async function vtysh(lab: Lab, host: string, ...cmds: string[]): Promise<string> {
  const f = frrOf(lab, host);
  const args = ['--vty_socket', f.vtyDir, '-d', 'bgpd'];
  for (const c of cmds) args.push('-c', c);
  const r = await peerTool('frr', f.container, VTYSH, args);
  if (r.code !== 0) throw new Error(`vtysh ${cmds.join(' ; ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** `show bfd peers json` of the bfdd in `host`. */
export async function frrBfdPeers(lab: Lab, host: string): Promise<Record<string, unknown>[]> {
  const f = frrOf(lab, host);
  const r = await peerTool('frr', f.container, VTYSH, ['--vty_socket', f.vtyDir, '-d', 'bfdd', '-c', 'show bfd peers json']);
  if (r.code !== 0) throw new Error(`vtysh -d bfdd: ${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

/** Configure-mode commands for the bfdd in `host`. */
export async function frrBfdConfigure(lab: Lab, host: string, ...lines: string[]): Promise<void> {
  const f = frrOf(lab, host);
  const args = ['--vty_socket', f.vtyDir, '-d', 'bfdd', '-c', 'configure terminal'];
  for (const l of lines) args.push('-c', l);
  const r = await peerTool('frr', f.container, VTYSH, args);
  if (r.code !== 0) throw new Error(`vtysh -d bfdd ${lines.join(' ; ')}: ${r.stderr || r.stdout}`);
}

/** A vtysh `show ... json` command, parsed. */
export async function frrJson<T = Record<string, unknown>>(lab: Lab, host: string, cmd: string): Promise<T> {
  return JSON.parse(await vtysh(lab, host, cmd)) as T;
}

/** Configure-mode commands, e.g. `frrConfigure(lab, h, 'router bgp 65001', 'neighbor X shutdown')`. */
export function frrConfigure(lab: Lab, host: string, ...lines: string[]): Promise<string> {
  return vtysh(lab, host, 'configure terminal', ...lines);
}

export interface FrrNeighborJson {
  bgpState?: string;
  remoteAs?: number;
  localAs?: number;
  neighborCapabilities?: Record<string, unknown>;
  lastNotificationReason?: string;
  lastResetDueTo?: string;
  [k: string]: unknown;
}

export async function frrNeighbor(lab: Lab, host: string, addr: string): Promise<FrrNeighborJson> {
  const j = await frrJson<Record<string, FrrNeighborJson>>(lab, host, `show bgp neighbors ${addr} json`);
  return j[addr] ?? {};
}

export async function waitFrrEstablished(lab: Lab, host: string, addr: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(`FRR ${host} -> ${addr} Established`, timeoutMs, async () => (await frrNeighbor(lab, host, addr)).bgpState === 'Established');
}

export interface FrrRoute {
  prefix: string;
  best: boolean;
  valid: boolean;
  nexthops: string[];
  asPath: number[];
  med?: number;
  localPref?: number;
  /** The neighbor the path came from ('0.0.0.0' for local). */
  peerId?: string;
  /** RFC 7911 path identifier received, when add-path is in use. */
  pathId?: number;
}

interface FrrPathJson {
  valid?: boolean;
  bestpath?: boolean;
  path?: string;
  metric?: number;
  locPrf?: number;
  peerId?: string;
  remotePathId?: number;
  nexthops?: { ip?: string }[];
}

/** Parse `show bgp <family> unicast json`. */
export function parseFrrRoutes(j: { routes?: Record<string, FrrPathJson[]> }): FrrRoute[] {
  const out: FrrRoute[] = [];
  for (const [prefix, paths] of Object.entries(j.routes ?? {})) {
    for (const p of paths) {
      out.push({
        prefix,
        best: p.bestpath === true,
        valid: p.valid === true,
        nexthops: (p.nexthops ?? []).map((n) => n.ip ?? '').filter(Boolean),
        asPath: (p.path ?? '')
          .split(/\s+/)
          .filter((x) => /^\d+$/.test(x))
          .map(Number),
        med: p.metric,
        localPref: p.locPrf,
        peerId: p.peerId,
        pathId: p.remotePathId,
      });
    }
  }
  return out;
}

export async function frrRoutes(lab: Lab, host: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<FrrRoute[]> {
  return parseFrrRoutes(await frrJson(lab, host, `show bgp ${family} unicast json`));
}

/** `show bgp <family> unicast <prefix> json`: the detailed paths (communities, originator, ...). */
export async function frrRouteDetail(lab: Lab, host: string, prefix: string): Promise<Record<string, unknown>[]> {
  const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const j = await frrJson<{ paths?: Record<string, unknown>[] }>(lab, host, `show bgp ${family} unicast ${prefix} json`);
  return j.paths ?? [];
}
