// Where ternd puts its control socket, and where bgpctl looks for it. Both use this one rule so
// that `bgpctl show peers` finds a daemon started with defaults, as root or not.
//
// The per-user fallback lives in a world-writable place (/tmp), where anyone may have created
// the directory or a socket first (issue 17: a user's fake socket in /tmp/tern-0 kept root's
// ternd from starting, and bgpctl then showed the impostor's state). So ternd only uses a
// fallback directory it owns and nobody else can write, and bgpctl only talks to a socket
// owned by root or by the user running it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SYSTEM_SOCKET = '/run/tern/ternd.sock';

const myUid = (): number => process.getuid?.() ?? -1;

/** A socket path that must not be used, and why, in words an operator can act on. */
export class UnsafeSocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeSocketError';
  }
}

/** The per-user fallback when /run/tern is not writable (a daemon started without root). */
export function userSocketPath(): string {
  const base = process.env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `tern-${process.getuid?.() ?? 'user'}`);
  return path.join(base, 'tern', 'ternd.sock');
}

function canWriteDir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates `dir` (mode 0700) or accepts it as it is only when it is a real directory (not a
 * symlink), owned by `uid`, and writable by nobody else; throws UnsafeSocketError otherwise.
 */
export function ensurePrivateDir(dir: string, uid = myUid()): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory())
    throw new UnsafeSocketError(
      `refusing ${dir} for the control socket: it is not a directory of its own (a symlink or a file someone put there); remove it or use --control-socket`,
    );
  if (uid >= 0 && st.uid !== uid)
    throw new UnsafeSocketError(
      `refusing ${dir} for the control socket: owned by uid ${st.uid}, not by this user (uid ${uid}), so someone else controls it; remove it or use --control-socket`,
    );
  if ((st.mode & 0o022) !== 0)
    throw new UnsafeSocketError(
      `refusing ${dir} for the control socket: others may write it (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it or use --control-socket`,
    );
}

/**
 * The socket ternd listens on: --control-socket, else TERN_SOCKET, else /run/tern if writable,
 * else the per-user fallback, whose directories are created private or refused (see above).
 */
export function daemonSocketPath(flag?: string): string {
  if (flag) return flag;
  if (process.env.TERN_SOCKET) return process.env.TERN_SOCKET;
  if (canWriteDir(path.dirname(SYSTEM_SOCKET))) return SYSTEM_SOCKET;
  const sock = userSocketPath();
  const inner = path.dirname(sock);
  // XDG_RUNTIME_DIR is the user's own already (pam_systemd makes it 0700); /tmp/tern-UID is not.
  if (!process.env.XDG_RUNTIME_DIR) ensurePrivateDir(path.dirname(inner));
  ensurePrivateDir(inner);
  return sock;
}

const myGroups = (): number[] => [...new Set([...(process.getgroups?.() ?? []), ...(process.getegid ? [process.getegid()] : [])])];

/**
 * Throws UnsafeSocketError when the socket at `p` is nobody's bgpctl should trust: a ternd
 * creates its socket as its own user, and gives it to its operators' group
 * (--control-socket-group). So the owner must be root or the user running bgpctl, or the
 * socket's group one of that user's groups (nobody can give a file to a group they are not in).
 * Anything else is an impostor's (issue 17). A missing path is left to the connect to report.
 */
export function checkSocketOwner(p: string, uid = myUid(), groups = myGroups()): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return;
  }
  if (uid < 0 || st.uid === 0 || st.uid === uid || groups.includes(st.gid)) return;
  throw new UnsafeSocketError(
    `refusing ${p}: the socket is owned by uid ${st.uid} and group ${st.gid}, neither root nor you (uid ${uid}) nor a group of yours; it is not a ternd of yours (remove it if it is stale, or run bgpctl as its user)`,
  );
}

/** The socket bgpctl talks to: -s, else TERN_SOCKET, else the first of the defaults that exists. */
export function clientSocketPath(flag?: string): string {
  if (flag) return flag;
  if (process.env.TERN_SOCKET) return process.env.TERN_SOCKET;
  for (const p of [SYSTEM_SOCKET, userSocketPath()]) if (fs.existsSync(p)) return p;
  return SYSTEM_SOCKET;
}

/** A group name from /etc/group, or a numeric gid, to a gid; throws with the reason. */
export function resolveGroup(name: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${groupFile} to find group ${name}: ${(e as Error).message}`);
  }
  for (const line of text.split('\n')) {
    const [g, , gid] = line.split(':');
    if (g === name && /^\d+$/.test(gid ?? '')) return Number(gid);
  }
  throw new Error(`no group named ${name} in ${groupFile} (create it, e.g. groupadd ${name}, or give a numeric gid)`);
}
