// ternd's control socket: a local Unix socket only (no TCP listener, as OpenBGPD's bgpd.sock),
// mode 0660, speaking the JSON-lines protocol of protocol.ts. Wiring only: every answer comes
// from the DaemonApi; this file checks arguments, frames answers and keeps backpressure.
import { mkdir, chmod, chown, lstat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  ControlError,
  NEIGHBOR_ACTIONS,
  unknownNeighbor,
  type AsFilter,
  type DaemonApi,
  type NeighborAction,
  type NeighborAllResult,
  type RibQuery,
} from './api.js';
import { COMMANDS, LineSplitter, MAX_REQUEST_LINE, PROTOCOL_VERSION, isCommand, line, type Answer, type Command } from './protocol.js';
import { checkNeighborKey, checkPrefix, checkShutdownMessage, normaliseCommunity } from './validate.js';

export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** The part of a bunyan logger the server uses. */
export interface ControlLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

/** Rows are gathered into writes of about this size: few syscalls, bounded memory. */
const STREAM_CHUNK = 16 * 1024;

/** True when something accepts connections on `path` (another ternd). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Removes a stale socket left by a crashed daemon; refuses if a live one answers. */
async function claimPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (st === null) return;
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  // Someone else's socket is neither ours to remove nor a ternd of ours (issue 17).
  const uid = process.getuid?.() ?? -1;
  if (uid >= 0 && st.uid !== uid) throw new Error(`${path} is a socket owned by uid ${st.uid}, not by this user (uid ${uid}); refusing to use or remove it`);
  if (await answers(path)) throw new Error(`another daemon answers on ${path}; refusing to start (is ternd already running?)`);
  await unlink(path);
}

export interface ControlServerOptions {
  /** Group that may use the socket (--control-socket-group): chown to it, mode 0660. */
  gid?: number;
}

export async function startControlServer(api: DaemonApi, path: string, log: ControlLog, opts: ControlServerOptions = {}): Promise<ControlServer> {
  await claimPath(path);
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    serveConnection(sock, api, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Operators in the socket's group may run bgpctl; nobody else may. The group is ternd's own
  // unless --control-socket-group names one (then its members run bgpctl without root).
  await chmod(path, 0o660);
  if (opts.gid !== undefined) {
    try {
      await chown(path, -1, opts.gid);
    } catch (err) {
      server.close();
      throw new Error(`cannot give ${path} to group ${opts.gid}: ${(err as Error).message}`);
    }
  }
  server.on('error', (err) => log.error({ err }, 'control socket error'));
  log.info({ path, ...(opts.gid !== undefined ? { gid: opts.gid } : {}) }, 'control socket listening');
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        // server.close unlinks the socket file of a Unix-domain listener.
        server.close(() => resolve());
      }),
  };
}

/** Writes and, when the socket's buffer is full, waits for it to drain (or close). */
async function send(sock: Socket, text: string): Promise<void> {
  if (sock.destroyed) throw new Error('connection closed');
  if (sock.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      sock.off('drain', done);
      sock.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      sock.off('drain', done);
      reject(new Error('connection closed'));
    };
    sock.once('drain', done);
    sock.once('close', closed);
  });
}

function serveConnection(sock: Socket, api: DaemonApi, log: ControlLog): void {
  // Requests are answered one after another so that a stream is never interleaved.
  let chain: Promise<void> = Promise.resolve();
  const splitter = new LineSplitter(MAX_REQUEST_LINE, (text) => {
    chain = chain
      .then(() => handle(sock, api, log, text))
      .catch(() => {
        sock.destroy();
      });
  });
  sock.on('data', (chunk: Buffer) => {
    try {
      splitter.push(chunk);
    } catch (e) {
      const error = { code: 'bad-request' as const, message: (e as Error).message };
      sock.end(line({ v: PROTOCOL_VERSION, id: null, ok: false, error }));
    }
  });
  sock.on('error', () => sock.destroy());
}

async function handle(sock: Socket, api: DaemonApi, log: ControlLog, text: string): Promise<void> {
  let id: number | null = null;
  const fail = (code: ControlError['code'], message: string): Answer => ({ v: PROTOCOL_VERSION, id, ok: false, error: { code, message } });
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch {
    return send(sock, line(fail('bad-request', 'request is not valid JSON')));
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return send(sock, line(fail('bad-request', 'request must be a JSON object')));
  const r = req as Record<string, unknown>;
  if (typeof r.id === 'number' && Number.isSafeInteger(r.id)) id = r.id;
  else return send(sock, line(fail('bad-request', 'request needs an integer "id"')));
  if (r.v !== PROTOCOL_VERSION) {
    return send(sock, line(fail('unsupported-version', `protocol version ${JSON.stringify(r.v)} not supported; this ternd speaks v${PROTOCOL_VERSION}`)));
  }
  const cmd = r.cmd;
  if (typeof cmd !== 'string' || !isCommand(cmd)) {
    return send(sock, line(fail('unknown-command', `unknown command ${JSON.stringify(cmd)}; known: ${Object.keys(COMMANDS).join(', ')}`)));
  }
  const args = typeof r.args === 'object' && r.args !== null && !Array.isArray(r.args) ? (r.args as Record<string, unknown>) : {};
  try {
    if (cmd === 'show.rib') {
      await stream(sock, id, api.rib(ribQuery(args)));
      return;
    }
    if (cmd === 'show.fib') {
      // A kernel table can be large: rows, not one line of many megabytes.
      await stream(sock, id, await api.fib(fibPrefix(args)));
      return;
    }
    const data = await answer(api, log, cmd, args);
    await send(sock, line({ v: PROTOCOL_VERSION, id, ok: true, data }));
  } catch (e) {
    if (sock.destroyed) return;
    if (e instanceof ControlError) return send(sock, line(fail(e.code, e.message)));
    log.error({ err: e, cmd }, 'control command failed');
    return send(sock, line(fail('internal', `ternd failed: ${(e as Error).message ?? String(e)}`)));
  }
}

/** Streams rows in chunks of about STREAM_CHUNK bytes, awaiting drain between chunks. */
async function stream(sock: Socket, id: number, rows: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
  let buf = '';
  try {
    for await (const row of rows) {
      buf += JSON.stringify({ v: PROTOCOL_VERSION, id, row }) + '\n';
      if (buf.length >= STREAM_CHUNK) {
        // Throws when the client went away; for-await then calls the generator's return().
        await send(sock, buf);
        buf = '';
      }
    }
  } catch (e) {
    // Rows produced before the failure go out first, then the error line.
    if (buf && !sock.destroyed) await send(sock, buf);
    throw e;
  }
  await send(sock, buf + line({ v: PROTOCOL_VERSION, id, ok: true, end: true }));
}

function str(args: Record<string, unknown>, name: string, required: true): string;
function str(args: Record<string, unknown>, name: string, required: false): string | undefined;
function str(args: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = args[name];
  if (v === undefined || v === null) {
    if (required) throw new ControlError('bad-argument', `missing argument "${name}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new ControlError('bad-argument', `argument "${name}" must be a string`);
  return v;
}

/** A neighbor key: address, or address:port as show config prints it. */
function address(args: Record<string, unknown>, name: string): string {
  const c = checkNeighborKey(str(args, name, true));
  if (!c.ok) throw new ControlError('bad-argument', c.message);
  return c.value;
}

function fibPrefix(args: Record<string, unknown>): string | undefined {
  const prefix = str(args, 'prefix', false);
  if (prefix !== undefined) {
    const c = checkPrefix(prefix);
    if (!c.ok) throw new ControlError('bad-prefix', c.message);
  }
  return prefix;
}

function ribQuery(args: Record<string, unknown>): RibQuery {
  const q: RibQuery = { view: 'loc' };
  const view = str(args, 'view', false);
  if (view !== undefined) {
    if (view !== 'loc' && view !== 'in' && view !== 'out') throw new ControlError('bad-argument', `view must be loc, in or out`);
    q.view = view;
  }
  const prefix = str(args, 'prefix', false);
  if (prefix !== undefined) {
    const c = checkPrefix(prefix);
    if (!c.ok) throw new ControlError('bad-prefix', c.message);
    q.prefix = prefix;
  }
  if (args.neighbor !== undefined) q.neighbor = address(args, 'neighbor');
  const family = str(args, 'family', false);
  if (family !== undefined) {
    if (family !== 'ipv4' && family !== 'ipv6') throw new ControlError('bad-argument', `family must be ipv4 or ipv6`);
    q.family = family;
  }
  if (args.detail === true) q.detail = true;
  const match = str(args, 'match', false);
  if (match !== undefined) {
    if (match !== 'exact' && match !== 'longer' && match !== 'shorter') throw new ControlError('bad-argument', 'match must be exact, longer or shorter');
    if (q.prefix === undefined || !q.prefix.includes('/')) throw new ControlError('bad-argument', `${match} needs a prefix (a.b.c.d/len)`);
    q.match = match;
  }
  const community = str(args, 'community', false);
  if (community !== undefined) {
    if (normaliseCommunity(community) === null)
      throw new ControlError('bad-argument', `bad community '${community}': expected asn:value (RFC 1997) or a well-known name such as no-export`);
    q.community = community;
  }
  const large = str(args, 'largeCommunity', false);
  if (large !== undefined) {
    if (!/^\d{1,10}:\d{1,10}:\d{1,10}$/.test(large) || large.split(':').some((x) => Number(x) > 0xffffffff))
      throw new ControlError('bad-argument', `bad large community '${large}': expected global:local1:local2 (RFC 8092), each 0-4294967295`);
    q.largeCommunity = large;
  }
  if (args.asFilter !== undefined) q.asFilter = asFilter(args.asFilter);
  return q;
}

function asFilter(v: unknown): AsFilter {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (o.kind === 'empty-as') return { kind: 'empty-as' };
  if (o.kind !== 'as' && o.kind !== 'source-as' && o.kind !== 'transit-as' && o.kind !== 'peer-as')
    throw new ControlError('bad-argument', 'asFilter.kind must be as, source-as, transit-as, peer-as or empty-as');
  if (typeof o.asn !== 'number' || !Number.isInteger(o.asn) || o.asn < 0 || o.asn > 0xffffffff)
    throw new ControlError('bad-argument', 'asFilter.asn must be an AS number 0-4294967295');
  return { kind: o.kind, asn: o.asn };
}

/** `neighbor all <action>`: every session; one that cannot take the action is skipped with why. */
async function actOnAll(api: DaemonApi, action: NeighborAction, opts: { message?: string; hard: boolean }): Promise<NeighborAllResult> {
  const out: NeighborAllResult = { done: [], skipped: [] };
  for (const p of api.peers()) {
    try {
      await api.neighborAction(p.address, action, opts);
      out.done.push(p.address);
    } catch (e) {
      if (!(e instanceof ControlError)) throw e;
      out.skipped.push({ address: p.address, reason: e.message });
    }
  }
  return out;
}

async function answer(api: DaemonApi, log: ControlLog, cmd: Exclude<Command, 'show.rib' | 'show.fib'>, args: Record<string, unknown>): Promise<unknown> {
  switch (cmd) {
    case 'hello':
      return { version: api.version, protocol: PROTOCOL_VERSION, pid: process.pid };
    case 'show.peers':
      return api.peers();
    case 'show.neighbor': {
      const addr = address(args, 'address');
      const n = api.neighbor(addr);
      if (!n) throw unknownNeighbor(addr);
      return n;
    }
    case 'show.config':
      return api.config();
    case 'show.status':
      return api.status();
    case 'show.rib.summary':
      return api.ribSummary();
    case 'neighbor.action': {
      const all = args.address === 'all';
      const addr = all ? 'all' : address(args, 'address');
      const action = str(args, 'action', true);
      if (!NEIGHBOR_ACTIONS.includes(action as NeighborAction)) throw new ControlError('bad-argument', `action must be one of ${NEIGHBOR_ACTIONS.join(', ')}`);
      const message = str(args, 'message', false);
      if (message !== undefined) {
        const c = checkShutdownMessage(message);
        if (!c.ok) throw new ControlError('bad-argument', c.message);
      }
      const hard = args.hard === true;
      if (all) return actOnAll(api, action as NeighborAction, { message, hard });
      await api.neighborAction(addr, action as NeighborAction, { message, hard });
      return null;
    }
    case 'reload':
      return api.reload();
    case 'fib.couple': {
      if (typeof args.coupled !== 'boolean') throw new ControlError('bad-argument', 'argument "coupled" must be true or false');
      await api.fibCouple(args.coupled);
      return null;
    }
    case 'fib.flush':
      // Logged once, by the daemon, with how many routes went (one line per event).
      return { removed: await api.fibFlush() };
    case 'log.level': {
      const level = str(args, 'level', true);
      if (!(LOG_LEVEL_NAMES as readonly string[]).includes(level))
        throw new ControlError('bad-argument', `log level must be one of ${LOG_LEVEL_NAMES.join(', ')}`);
      api.setLogLevel(level);
      log.info({ level }, `log level set to ${level} (bgpctl log level)`);
      return null;
    }
    case 'health':
      return api.health();
    case 'show.bfd':
      return api.bfd();
  }
}
