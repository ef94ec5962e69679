// Checks of ternd's inputs made before anything starts (issue 17: a probe port already taken or
// out of range, or a control socket path held by another daemon, ended in a raw stack trace
// after the sessions were already planned). Each failure is a StartupError whose message is the
// one line ternd prints before it exits 1.
import fs from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { parseListenAddress } from '../control/http.js';

export class StartupError extends Error {}

/** `--probes host:port`: well formed, in range, and free to bind (a probe that cannot answer kills the pod). */
export async function checkProbeAddress(spec: string): Promise<{ host: string; port: number }> {
  let a: { host: string; port: number };
  const port = /:(\d+)$/.exec(spec)?.[1];
  if (port !== undefined && Number(port) > 65535) throw new StartupError(`--probes ${spec}: port ${port} is out of range (0-65535, 0: any free port)`);
  try {
    a = parseListenAddress(spec);
  } catch (e) {
    throw new StartupError(`--probes: ${(e as Error).message}`);
  }
  await new Promise<void>((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          e.code === 'EADDRINUSE'
            ? `--probes ${spec}: the port is already in use (another ternd?); choose another with --probes HOST:PORT, or --probes off`
            : e.code === 'EADDRNOTAVAIL'
              ? `--probes ${spec}: no such local address`
              : `--probes ${spec}: cannot listen: ${e.code ?? e.message}`,
        ),
      ),
    );
    s.listen(a.port, a.host, () => s.close(() => resolve()));
  });
  return a;
}

/** The control socket path: free, or a stale socket (removed later); never a file or a live daemon's socket. */
export async function checkControlSocket(path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StartupError(`--control-socket ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isSocket()) throw new StartupError(`--control-socket ${path}: exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new StartupError(`--control-socket ${path}: another daemon answers on it (is ternd already running?); stop it or choose another path`);
}

/** CAP_NET_ADMIN (capability 12) in the effective set, from /proc/self/status. */
export function hasNetAdmin(status = safeRead('/proc/self/status')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return process.getuid?.() === 0;
  return (BigInt(`0x${m[1]}`) & (1n << 12n)) !== 0n;
}

function safeRead(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** `--fib kernel` writes routes with rtnetlink, which the kernel refuses (EPERM) without CAP_NET_ADMIN. */
export function checkKernelFib(fib: 'kernel' | 'none', netAdmin = hasNetAdmin()): void {
  if (fib !== 'kernel' || netAdmin) return;
  throw new StartupError(
    '--fib kernel needs CAP_NET_ADMIN to write routes (every write would fail with EPERM): run ternd as root or grant it NET_ADMIN, or use --fib none to keep routes in the RIB only',
  );
}
