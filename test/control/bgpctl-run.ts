// bgpctl end to end against a FakeDaemon (cli.test.ts, cli-operator.test.ts): a control server
// on a temporary socket for the whole test file (the file's before/after hooks), and bgpctl
// spawned against it as `node dist/src/bgpctl.js` with stdout as a pipe.
import { after, before } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { FakeDaemon, quietLog } from './fake-daemon.js';

export const BGPCTL = join(__dirname, '..', '..', 'src', 'bgpctl.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FakeBgpctl {
  readonly fake: FakeDaemon;
  /** The temporary directory, and the control socket in it (both set when the file's tests start). */
  readonly dir: string;
  readonly sock: string;
  /** Runs bgpctl asynchronously (the server lives in this process) with stdout as a pipe. */
  bgpctl(args: string[], env?: NodeJS.ProcessEnv): Promise<Run>;
}

/** Call at the top of a test file: registers the hooks that start and remove the server. */
export function fakeBgpctl(tag: string): FakeBgpctl {
  let server: ControlServer | undefined;
  const h = {
    fake: new FakeDaemon(),
    dir: '',
    sock: '',
    bgpctl: (args: string[], env: NodeJS.ProcessEnv = {}) =>
      new Promise<Run>((resolve) => {
        execFile(process.execPath, [BGPCTL, ...args], { env: { PATH: process.env.PATH, TERN_SOCKET: h.sock, ...env } }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
        });
      }),
  };
  before(async () => {
    h.dir = mkdtempSync(join(tmpdir(), `tern-${tag}-`));
    h.sock = join(h.dir, 'ternd.sock');
    server = await startControlServer(h.fake, h.sock, quietLog);
  });
  after(async () => {
    await server?.close();
    rmSync(h.dir, { recursive: true, force: true });
  });
  return h;
}
