// How fast and how lean `show rib` streams over the control socket: 500k rows from a generator
// through server, socket and client, with the server's lead over the reader and heap growth.
// Run: npm run bench -- control-stream [rows]  (node --expose-gc dist/bench/run.js ... settles the heap first)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '../src/control/client.js';
import { startControlServer } from '../src/control/server.js';
import { FakeDaemon, quietLog } from '../test/control/fake-daemon.js';
import { ResultRecorder } from './result.js';

export async function main(argv: string[]): Promise<number> {
  const rec = new ResultRecorder('control-stream', argv);
  const rows = Number(argv[0] ?? 500_000);
  const dir = mkdtempSync(join(tmpdir(), 'tern-bench-ctl-'));
  const fake = new FakeDaemon();
  fake.ribRows = rows;
  const srv = await startControlServer(fake, join(dir, 's.sock'), quietLog);
  const c = await ControlClient.connect(join(dir, 's.sock'));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  let peakHeap = heap0;
  let n = 0;
  let maxAhead = 0;
  const t0 = process.hrtime.bigint();
  for await (const _ of c.stream('show.rib', { view: 'loc' })) {
    n++;
    maxAhead = Math.max(maxAhead, fake.generated - n);
    if ((n & 4095) === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(
    `${n} rows in ${ms.toFixed(0)} ms (${Math.round((n / ms) * 1000)} rows/s); server lead max ${maxAhead} rows; heap growth peak ${((peakHeap - heap0) / 1048576).toFixed(1)} MiB (server and client in one process)`,
  );
  c.close();
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
  rec.finish(
    { rows: n, ms, rowsPerSec: (n / ms) * 1000, serverLeadMaxRows: maxAhead, heapGrowthPeakMiB: (peakHeap - heap0) / 1048576, gcBeforeStart: gc !== undefined },
    [],
    { suffix: `-n${rows}` },
  );
  return 0;
}

if (require.main === module) void main(process.argv.slice(2)).then((c) => process.exit(c));
