// BIRD 2 in a lab namespace: a config generator, the daemon in the foreground with its own
// control socket (-s), pid file (-P) and log file, and helpers around `birdc`.

import * as fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { type Lab, waitFor } from './lab.js';
import { peerTool, startPeerDaemon } from './peer-runtime.js';

export const BIRD = process.env.TERN_BIRD ?? '/usr/sbin/bird';
export const BIRDC = process.env.TERN_BIRDC ?? '/usr/sbin/birdc';

export interface BirdChannel {
  /** 'all' | 'none' | a filter body such as 'where net ~ [10.244.0.0/16+]'. Default 'all'. */
  import?: string;
  export?: string;
  nextHopSelf?: boolean;
  /** Next hop address to announce (BIRD `next hop address`). */
  nextHopAddress?: string;
  /** RFC 7911 add-path: 'on' (both), 'rx', 'tx'. */
  addPaths?: 'on' | 'rx' | 'tx';
  extra?: string[];
}

export interface BirdNeighbor {
  /** Protocol name, used by birdc (`show protocols NAME`, `disable NAME`); not a BIRD keyword (e.g. not 'rr'). */
  name: string;
  localAddr?: string;
  localAs: number;
  neighborAddr: string;
  neighborAs: number;
  /** Default: ipv4 channel on, ipv6 off. `false` leaves the channel out. */
  ipv4?: BirdChannel | boolean;
  ipv6?: BirdChannel | boolean;
  passive?: boolean;
  /** TCP MD5 signature (RFC 2385). */
  password?: string;
  holdTime?: number;
  keepaliveTime?: number;
  connectRetryTime?: number;
  gracefulRestart?: boolean;
  /** RFC 6793: default on; `false` makes BIRD an OLD (2-octet) speaker. */
  as4?: boolean;
  extendedMessages?: boolean;
  /** RFC 5082 GTSM. */
  ttlSecurity?: boolean;
  multihop?: number;
  rrClient?: boolean;
  rrClusterId?: string;
  extra?: string[];
}

export interface BirdStaticRoute {
  prefix: string;
  /** Filter statements run on the route, e.g. 'bgp_community.add((65000,100));'. */
  attrs?: string[];
}

export interface BirdConfig {
  routerId: string;
  neighbors: BirdNeighbor[];
  static4?: BirdStaticRoute[];
  static6?: BirdStaticRoute[];
  /** Add a kernel protocol per table so learned routes reach the namespace FIB. */
  kernel?: boolean;
  /** Raw text appended to the config. */
  extra?: string;
}

function channelText(family: 'ipv4' | 'ipv6', ch: BirdChannel | boolean | undefined, dflt: boolean): string[] {
  if (ch === false || (ch === undefined && !dflt)) return [];
  const c: BirdChannel = typeof ch === 'object' ? ch : {};
  const filt = (kind: 'import' | 'export', v: string | undefined): string =>
    v === undefined || v === 'all' || v === 'none' ? `${kind} ${v ?? 'all'};` : `${kind} filter { ${v} };`;
  const body = [filt('import', c.import), filt('export', c.export)];
  if (c.nextHopSelf) body.push('next hop self;');
  if (c.nextHopAddress) body.push(`next hop address ${c.nextHopAddress};`);
  if (c.addPaths) body.push(`add paths ${c.addPaths};`);
  body.push(...(c.extra ?? []));
  return [`  ${family} {`, ...body.map((l) => `    ${l}`), '  };'];
}

/** Render a BIRD 2 configuration. */
export function birdConfig(cfg: BirdConfig, logFile: string): string {
  const out = [`log "${logFile}" all;`, `router id ${cfg.routerId};`, 'protocol device { scan time 1; }'];
  const statics = (family: 'ipv4' | 'ipv6', routes: BirdStaticRoute[] | undefined): void => {
    if (!routes?.length) return;
    out.push(`protocol static static_${family} {`, `  ${family};`);
    for (const r of routes) {
      out.push(r.attrs?.length ? `  route ${r.prefix} blackhole { ${r.attrs.join(' ')} };` : `  route ${r.prefix} blackhole;`);
    }
    out.push('}');
  };
  statics('ipv4', cfg.static4);
  statics('ipv6', cfg.static6);
  if (cfg.kernel) {
    out.push('protocol kernel kernel4 { ipv4 { export where source = RTS_BGP; }; }');
    out.push('protocol kernel kernel6 { ipv6 { export where source = RTS_BGP; }; }');
  }
  for (const n of cfg.neighbors) {
    out.push(`protocol bgp ${n.name} {`);
    out.push(n.localAddr ? `  local ${n.localAddr} as ${n.localAs};` : `  local as ${n.localAs};`);
    out.push(`  neighbor ${n.neighborAddr} as ${n.neighborAs};`);
    out.push(`  hold time ${n.holdTime ?? 3};`);
    if (n.keepaliveTime !== undefined) out.push(`  keepalive time ${n.keepaliveTime};`);
    out.push(`  connect retry time ${n.connectRetryTime ?? 1};`);
    out.push('  connect delay time 1;', '  error wait time 1, 2;');
    if (n.passive) out.push('  passive on;');
    if (n.password !== undefined) out.push(`  password "${n.password}";`);
    if (n.gracefulRestart) out.push('  graceful restart on;');
    if (n.as4 === false) out.push('  enable as4 off;');
    if (n.extendedMessages) out.push('  enable extended messages on;');
    if (n.ttlSecurity) out.push('  ttl security on;');
    if (n.multihop !== undefined) out.push(`  multihop ${n.multihop};`);
    if (n.rrClient) out.push('  rr client;');
    if (n.rrClusterId) out.push(`  rr cluster id ${n.rrClusterId};`);
    out.push(...(n.extra ?? []).map((l) => `  ${l}`));
    out.push(...channelText('ipv4', n.ipv4, true), ...channelText('ipv6', n.ipv6, false));
    out.push('}');
  }
  if (cfg.extra) out.push(cfg.extra);
  return out.join('\n') + '\n';
}

export interface Bird {
  host: string;
  ctl: string;
  configFile: string;
  logFile: string;
  pid: number;
  child: ChildProcess;
  /** Its container in TERN_PEERS=containers mode (conformance/lab/peer-runtime.ts). */
  container?: string;
}

/** Start BIRD in the foreground inside `host`; returns once its control socket answers. */
export async function startBird(lab: Lab, host: string, cfg: BirdConfig): Promise<Bird> {
  const base = lab.file(`bird-${host}`);
  const logFile = `${base}.log`;
  const configFile = `${base}.conf`;
  const ctl = `${base}.ctl`;
  fs.writeFileSync(configFile, birdConfig(cfg, logFile));
  const parse = await peerTool('bird', undefined, BIRD, ['-p', '-c', configFile], lab);
  if (parse.code !== 0) throw new Error(`BIRD config rejected: ${parse.stderr}\n${fs.readFileSync(configFile, 'utf8')}`);
  return launchBird(lab, { host, ctl, configFile, logFile }, []);
}

/** Run BIRD in the foreground in `b.host` (again, after a kill, with `extraArgs` such as -R). */
export async function launchBird(lab: Lab, b: Pick<Bird, 'host' | 'ctl' | 'configFile' | 'logFile'>, extraArgs: string[]): Promise<Bird> {
  const base = b.configFile.replace(/\.conf$/, '');
  const d = await startPeerDaemon(lab, b.host, 'bird', BIRD, ['-f', '-c', b.configFile, '-s', b.ctl, '-P', `${base}.pid`, ...extraArgs], {
    logFile: `${base}.out`,
    name: 'bird',
  });
  const bird: Bird = { ...b, pid: d.pid, child: d.child, container: d.container };
  lab.instances.set(`bird:${b.host}`, bird);
  await waitFor(`BIRD control socket in ${b.host}`, 10_000, async () => (await peerTool('bird', d.container, BIRDC, ['-s', b.ctl, 'show status'])).code === 0);
  return bird;
}

function birdOf(lab: Lab, host: string): Bird {
  const b = lab.instances.get(`bird:${host}`) as Bird | undefined;
  if (!b) throw new Error(`no BIRD started in ${host}`);
  return b;
}

/** Run one birdc command against the BIRD in `host`; returns its output. */
export async function birdc(lab: Lab, host: string, cmd: string): Promise<string> {
  const b = birdOf(lab, host);
  const r = await peerTool('bird', b.container, BIRDC, ['-s', b.ctl, cmd]);
  if (r.code !== 0) throw new Error(`birdc ${cmd}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Replace the running configuration (`birdc configure`). */
export async function birdReconfigure(lab: Lab, host: string, cfg: BirdConfig): Promise<string> {
  const b = birdOf(lab, host);
  fs.writeFileSync(b.configFile, birdConfig(cfg, b.logFile));
  return birdc(lab, host, 'configure');
}

/** The BGP state column of `show protocols NAME` (Idle, Connect, Active, OpenSent, ..., Established). */
export async function birdBgpState(lab: Lab, host: string, proto: string): Promise<string> {
  const out = await birdc(lab, host, `show protocols all ${proto}`);
  return /BGP state:\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
}

export interface BirdProtocolInfo {
  /** BGP state: Idle, Connect, Active, OpenSent, OpenConfirm, Established. */
  bgpState: string;
  neighborId?: string;
  /** 'Last error:' line, e.g. 'Received: Bad peer AS'. */
  lastError?: string;
  /** 'Session:' line, e.g. 'external AS4' or 'internal multihop AS4'. */
  session?: string;
  /** Capability names as BIRD prints them ('Multiprotocol', 'Route refresh', '4-octet AS numbers', ...). */
  localCaps: string[];
  neighborCaps: string[];
  /** Detail lines under each neighbor capability, e.g. {'Multiprotocol': ['AF announced: ipv4 ipv6']}. */
  neighborCapDetails: Record<string, string[]>;
  raw: string;
}

/** Parse `birdc show protocols all NAME` for one BGP protocol. */
export function parseBirdProtocol(raw: string): BirdProtocolInfo {
  const info: BirdProtocolInfo = { bgpState: /BGP state:\s+(\S+)/.exec(raw)?.[1] ?? 'unknown', localCaps: [], neighborCaps: [], neighborCapDetails: {}, raw };
  info.neighborId = /Neighbor ID:\s+(\S+)/.exec(raw)?.[1];
  info.lastError = /Last error:\s+(.*)/.exec(raw)?.[1]?.trim();
  info.session = /Session:\s+(.*)/.exec(raw)?.[1]?.trim();
  let block: 'local' | 'neighbor' | undefined;
  let cap = '';
  for (const line of raw.split('\n')) {
    if (/^\s+Local capabilities/.test(line)) block = 'local';
    else if (/^\s+Neighbor capabilities/.test(line)) block = 'neighbor';
    else if (!/^ {6}/.test(line)) block = undefined;
    else if (block && /^ {6}\S/.test(line)) {
      cap = line.trim();
      (block === 'local' ? info.localCaps : info.neighborCaps).push(cap);
      if (block === 'neighbor') info.neighborCapDetails[cap] = [];
    } else if (block === 'neighbor' && /^ {8}\S/.test(line)) info.neighborCapDetails[cap]?.push(line.trim());
  }
  return info;
}

export async function birdProtocol(lab: Lab, host: string, proto: string): Promise<BirdProtocolInfo> {
  return parseBirdProtocol(await birdc(lab, host, `show protocols all ${proto}`));
}

export async function waitBirdEstablished(lab: Lab, host: string, proto: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(`BIRD ${host}/${proto} Established`, timeoutMs, async () => (await birdBgpState(lab, host, proto)) === 'Established');
}

export interface BirdRoute {
  prefix: string;
  table: string;
  /** Protocol the route came from (`[frr 03:31:29.733]`). */
  proto: string;
  /** Marked `*` (selected) by BIRD. */
  primary: boolean;
  nexthop?: string;
  iface?: string;
  asPath: number[];
  localPref?: number;
  med?: number;
  originatorId?: string;
  clusterList: string[];
  communities: string[];
  largeCommunities: string[];
  extCommunities: string[];
  /** Every `BGP.x: value` line, by attribute name. */
  attrs: Record<string, string>;
}

const tuples = (v: string | undefined): string[] => (v ? [...v.matchAll(/\(([^)]*)\)/g)].map((m) => m[1].replace(/\s+/g, '')) : []);

/** Parse `birdc show route all` output. */
export function parseBirdRoutes(text: string): BirdRoute[] {
  const routes: BirdRoute[] = [];
  let table = '';
  let prefix = '';
  let cur: BirdRoute | undefined;
  for (const line of text.split('\n')) {
    const t = /^Table (\S+):/.exec(line);
    if (t) {
      table = t[1];
      continue;
    }
    const head = /^(\S+)?\s+(unicast|blackhole|unreachable|prohibit|dev \S+)\s+\[(\S+)[^\]]*\]\s*(\*)?/.exec(line);
    if (head && !line.startsWith('\t') && !/^BIRD/.test(line)) {
      if (head[1]) prefix = head[1];
      cur = {
        prefix,
        table,
        proto: head[3],
        primary: head[4] === '*',
        asPath: [],
        clusterList: [],
        communities: [],
        largeCommunities: [],
        extCommunities: [],
        attrs: {},
      };
      routes.push(cur);
      continue;
    }
    if (!cur) continue;
    const via = /^\s+via (\S+) on (\S+)/.exec(line);
    if (via) {
      cur.nexthop ??= via[1];
      cur.iface ??= via[2];
      continue;
    }
    const a = /^\s+BGP\.(\w+): ?(.*)$/.exec(line);
    if (!a) continue;
    const [, name, value] = a;
    cur.attrs[name] = value;
    if (name === 'as_path')
      cur.asPath = value
        .split(/\s+/)
        .filter((x) => /^\d+$/.test(x))
        .map(Number);
    if (name === 'local_pref') cur.localPref = Number(value);
    if (name === 'med') cur.med = Number(value);
    if (name === 'originator_id') cur.originatorId = value;
    if (name === 'cluster_list') cur.clusterList = value.split(/\s+/).filter(Boolean);
    if (name === 'community') cur.communities = tuples(value);
    if (name === 'large_community') cur.largeCommunities = tuples(value);
    if (name === 'ext_community') cur.extCommunities = tuples(value);
  }
  return routes;
}

/** Routes in BIRD's tables, optionally only those from one protocol and/or one family. */
export async function birdRoutes(lab: Lab, host: string, opts: { proto?: string; family?: 'ipv4' | 'ipv6' } = {}): Promise<BirdRoute[]> {
  const tables = opts.family ? [opts.family === 'ipv4' ? 'master4' : 'master6'] : ['master4', 'master6'];
  const all: BirdRoute[] = [];
  for (const tbl of tables) {
    const out = await birdc(lab, host, `show route all table ${tbl}${opts.proto ? ` protocol ${opts.proto}` : ''}`);
    all.push(...parseBirdRoutes(out));
  }
  return all;
}
