// ternd in a lab namespace: a Calico v3 model written to a temp file, the daemon started with
// `--fib none` and its own control socket, its bunyan JSON log lines (stdout) collected so a test
// can wait for the line it expects, and bgpctl against its socket.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { stringify } from 'yaml';
import { GiveUp, type Lab, onLines, run, waitFor } from './lab.js';

/** Compiled entry points, found relative to this file (dist/conformance/lab -> dist/src). */
export const TERND = process.env.TERN_TERND ?? path.resolve(__dirname, '..', '..', 'src', 'ternd.js');
export const BGPCTL = process.env.TERN_BGPCTL ?? path.resolve(__dirname, '..', '..', 'src', 'bgpctl.js');

/** One bunyan record: level is 10 trace .. 60 fatal; the rest are the event's fields. */
export interface TernLogRecord {
  level: number;
  msg: string;
  time: string;
  component?: string;
  [field: string]: unknown;
}

export interface CalicoNode {
  name: string;
  ipv4Address?: string;
  ipv6Address?: string;
  asNumber?: number | string;
  routeReflectorClusterID?: string;
  labels?: Record<string, string>;
}

export interface CalicoPeer {
  name: string;
  /** Only this node has the peer (otherwise nodeSelector, or every node). */
  node?: string;
  nodeSelector?: string;
  peerSelector?: string;
  peerIP?: string;
  asNumber?: number | string;
  password?: string;
  keepaliveTime?: string;
  maxRestartTime?: string;
  ttlSecurity?: number;
  sourceAddress?: 'UseNodeIP' | 'None';
  nextHopMode?: string;
  filters?: string[];
  [field: string]: unknown;
}

export interface CalicoModel {
  /** Default AS (BGPConfiguration default asNumber). */
  asNumber: number | string;
  nodeToNodeMeshEnabled?: boolean;
  listenPort?: number;
  nodes: CalicoNode[];
  peers?: CalicoPeer[];
  /** IPPools as `{name: cidr}`; extra documents (BGPFilter, IPAMBlock, ...) verbatim. */
  pools?: Record<string, string>;
  extraDocs?: Record<string, unknown>[];
  bgpConfiguration?: Record<string, unknown>;
}

/** Render a Calico v3 multi-document YAML (BGPConfiguration, Nodes, BGPPeers, IPPools, extras). */
/** An IPv4 IPAMBlock affine to `node`, named after its CIDR as Calico names blocks (10-244-1-0-26). */
export function blockDoc(cidr: string, node: string): Record<string, unknown> {
  return {
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPAMBlock',
    metadata: { name: cidr.replace(/[./]/g, '-') },
    spec: { cidr, affinity: `host:${node}` },
  };
}

export function calicoYaml(m: CalicoModel): string {
  const docs: Record<string, unknown>[] = [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: {
        asNumber: m.asNumber,
        nodeToNodeMeshEnabled: m.nodeToNodeMeshEnabled ?? false,
        ...(m.listenPort ? { listenPort: m.listenPort } : {}),
        ...m.bgpConfiguration,
      },
    },
    ...m.nodes.map((n) => ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: n.name, ...(n.labels ? { labels: n.labels } : {}) },
      spec: {
        bgp: {
          ...(n.ipv4Address ? { ipv4Address: n.ipv4Address } : {}),
          ...(n.ipv6Address ? { ipv6Address: n.ipv6Address } : {}),
          ...(n.asNumber !== undefined ? { asNumber: n.asNumber } : {}),
          ...(n.routeReflectorClusterID ? { routeReflectorClusterID: n.routeReflectorClusterID } : {}),
        },
      },
    })),
    ...(m.peers ?? []).map(({ name, ...spec }) => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec })),
    ...Object.entries(m.pools ?? {}).map(([name, cidr]) => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name }, spec: { cidr } })),
    ...(m.extraDocs ?? []),
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

export interface TerndOptions {
  /** The model: YAML text, or a CalicoModel rendered with calicoYaml. */
  configYaml: string | CalicoModel;
  node: string;
  /** Extra command-line arguments. */
  args?: string[];
  logLevel?: 'trace' | 'debug' | 'info';
  /** Default 'none': the conformance sessions do not write the namespace FIB. */
  fib?: string;
  /** Extra environment (e.g. TERN_TEST_STALL_MS for the BFD stall scenario). */
  env?: Record<string, string>;
  /**
   * Read the model from another datastore (e.g. `['--datastore', 'etcd', '--etcd-endpoints', ...]`)
   * instead of a config file: configYaml is then not written and --config not passed.
   */
  datastoreArgs?: string[];
  /** How long to wait for the control socket (default 15 s; a datastore that must sync first may need more). */
  startTimeoutMs?: number;
}

export interface Ternd {
  host: string;
  pid: number;
  child: ChildProcess;
  configFile: string;
  controlSocket: string;
  /** Raw stdout+stderr, as written. */
  logFile: string;
  /** Every JSON log record seen so far (non-JSON lines are kept as msg with level 0). */
  records: TernLogRecord[];
  /**
   * Wait for a log record matching `pred`, among those from index `since` on (default 0: also
   * the ones already seen; pass `records.length` to wait for a new one); throws after timeoutMs.
   */
  waitForLog(pred: (r: TernLogRecord) => boolean, timeoutMs?: number, what?: string, since?: number): Promise<TernLogRecord>;
  /** Records matching `pred` so far. */
  logs(pred: (r: TernLogRecord) => boolean): TernLogRecord[];
}

/** Start ternd in `host`; resolves once the process runs and its control socket exists. */
export async function startTernd(lab: Lab, host: string, o: TerndOptions): Promise<Ternd> {
  if (!fs.existsSync(TERND)) throw new Error(`${TERND} not found: run npm run build (ternd must exist for Tern scenarios)`);
  const base = lab.file(`ternd-${host}`);
  const configFile = `${base}.yaml`;
  const controlSocket = `${base}.sock`;
  const logFile = `${base}.log`;
  fs.rmSync(controlSocket, { force: true }); // a restarted ternd must not be taken for ready
  if (!o.datastoreArgs) fs.writeFileSync(configFile, typeof o.configYaml === 'string' ? o.configYaml : calicoYaml(o.configYaml));
  const source = o.datastoreArgs ?? ['--config', configFile];
  const args = [
    TERND,
    ...source,
    '--node',
    o.node,
    '--fib',
    o.fib ?? 'none',
    '--control-socket',
    controlSocket,
    '--log-level',
    o.logLevel ?? 'debug',
    ...(o.args ?? []),
  ];
  const child = lab.spawn(host, process.execPath, args, o.env ? { env: { ...process.env, ...o.env } } : {});
  const records: TernLogRecord[] = [];
  const waiters = new Set<{ pred: (r: TernLogRecord) => boolean; resolve: (r: TernLogRecord) => void }>();
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const feed = (stream: NodeJS.ReadableStream | null): void =>
    onLines(
      stream,
      (line) => {
        if (!line.trim()) return;
        let rec: TernLogRecord;
        try {
          rec = JSON.parse(line) as TernLogRecord;
        } catch {
          rec = { level: 0, msg: line, time: new Date().toISOString() };
        }
        records.push(rec);
        for (const w of waiters) {
          if (!w.pred(rec)) continue;
          waiters.delete(w);
          w.resolve(rec);
        }
      },
      (chunk) => log.write(chunk),
    );
  feed(child.stdout);
  feed(child.stderr);
  child.on('exit', () => log.end());
  const t: Ternd = {
    host,
    pid: child.pid!,
    child,
    configFile,
    controlSocket,
    logFile,
    records,
    logs: (pred) => records.filter(pred),
    waitForLog(pred, timeoutMs = 15_000, what = 'a ternd log line', since = 0) {
      const seen = records.slice(since).find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (r: TernLogRecord) => (clearTimeout(timer), resolve(r)) };
        const timer = setTimeout(() => {
          waiters.delete(w);
          const tail = records
            .slice(-15)
            .map((r) => `  ${r.msg} ${JSON.stringify(r).slice(0, 200)}`)
            .join('\n');
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ternd@${host}; last lines:\n${tail}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
  };
  lab.instances.set(`ternd:${host}`, t);
  await waitFor(`ternd control socket in ${host}`, o.startTimeoutMs ?? 15_000, () => {
    if (child.exitCode !== null) {
      const lines = records.length > 12 ? [...records.slice(0, 4), { msg: '...' }, ...records.slice(-8)] : records;
      throw new GiveUp(`ternd exited ${child.exitCode}: ${lines.map((r) => r.msg).join(' | ')}`);
    }
    return fs.existsSync(controlSocket);
  });
  return t;
}

/** `bgpctl -s <socket> -j <args...>` against the ternd in `host`; parsed JSON when it is JSON. */
export async function bgpctl(lab: Lab, host: string, ...args: string[]): Promise<unknown> {
  const t = lab.instances.get(`ternd:${host}`) as Ternd | undefined;
  if (!t) throw new Error(`no ternd started in ${host}`);
  const r = await run(process.execPath, [BGPCTL, '-s', t.controlSocket, '-j', ...args]);
  if (r.code !== 0) throw new Error(`bgpctl ${args.join(' ')}: ${r.stderr || r.stdout}`);
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    return r.stdout;
  }
}
