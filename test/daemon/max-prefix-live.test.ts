// Max-prefix through ternd against a raw peer on loopback (no root; the BIRD version is
// conformance/max-prefix.test.ts): five routes against a limit of three close the session
// with Cease 6/1 and the RFC 4486 §4 data; without restartInterval it stays down, until the
// limit is raised in the datastore, which starts it again at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { doc } from './helpers.js';
import { RawPeer, rawKeepalive, rawOpen, freshPort, ipv4Update } from '../bgp/session-helpers.js';
import { askSocket } from './control.js';
import { until } from '../until.js';
import type { NeighborView } from '../../src/control/api.js';

const TERND = path.resolve(__dirname, '..', '..', 'src', 'ternd.js');
const NODE = '127.0.0.71';
const PEER = '127.0.0.73';

// Waits poll every 50 ms (the NOTIFICATION and the reconnect are watched on raw sockets).
const POLL_MS = 50;

/** NOTIFICATIONs (type 3) in what one connection received. */
function notifications(chunks: Buffer[]): Buffer[] {
  const all = Buffer.concat(chunks);
  const out: Buffer[] = [];
  for (let p = 0; p + 19 <= all.length; p += all.readUInt16BE(p + 16)) if (all[p + 18] === 3) out.push(all.subarray(p, p + all.readUInt16BE(p + 16)));
  return out;
}

test('RFC 4486 §4 max-prefix through ternd: Cease 6/1 with AFI/SAFI/limit; held down without restartInterval until the limit is raised', {
  timeout: 60_000,
}, async (t) => {
  const bgpPort = freshPort();
  const peerPort = freshPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i15-maxpfx-'));
  const config = path.join(dir, 'cluster.yaml');
  const model = (limit: number) =>
    [
      doc('BGPConfiguration', 'default', `  asNumber: 64512\n  listenPort: ${bgpPort}\n  bindMode: NodeIP\n  nodeToNodeMeshEnabled: false`),
      doc('Node', 'node-a', `  bgp:\n    ipv4Address: ${NODE}/8`),
      doc('BGPPeer', 'tor', `  peerIP: ${PEER}:${peerPort}\n  asNumber: 65009\n  maxPrefixes:\n    ipv4:\n      limit: ${limit}`),
    ].join('');
  fs.writeFileSync(config, model(3));
  const conns: Buffer[][] = [];
  const peer = new RawPeer((s) => {
    const got: Buffer[] = [];
    conns.push(got);
    s.on('data', (d: Buffer) => got.push(d));
    const routes = [1, 2, 3, 4, 5].flatMap((i) => ipv4Update(65009, `10.7.${i}.0`, PEER));
    s.write(Buffer.concat([rawOpen(65009, '198.18.0.73', 90), rawKeepalive(), ...routes]));
  });
  await peer.listen(PEER, peerPort);
  const sock = path.join(dir, 'ternd.sock');
  const proc = spawn(
    process.execPath,
    [TERND, '--config', config, '--node', 'node-a', '--fib', 'none', '--control-socket', sock, '--probes', 'off', '--connect-retry', '1'],
    { stdio: 'ignore' },
  );
  t.after(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await peer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cease = await until('the NOTIFICATION', () => conns.length > 0 && notifications(conns[0])[0], 20_000, POLL_MS);
  // Cease (6) / Maximum Number of Prefixes Reached (1); data AFI 1, SAFI 1, upper bound 3.
  assert.equal(cease.subarray(19).toString('hex'), '0601' + '0001' + '01' + '00000003');
  const n = await until(
    'the hold-down in show neighbor',
    async () => {
      const v = await askSocket<NeighborView>(sock, 'show.neighbor', { address: PEER }, 2000);
      return v.maxPrefixExceeded !== null && v;
    },
    20_000,
    POLL_MS,
  );
  // One route per UPDATE: the fourth crosses the limit, the fifth is never read.
  assert.deepEqual({ ...n.maxPrefixExceeded, at: undefined }, { family: 'ipv4', limit: 3, received: 4, at: undefined, restartInSeconds: null });
  assert.equal(n.maxPrefixes[0].received, 0, 'the routes were withdrawn');
  // No restartInterval: it stays down (the connect-retry time is 1 s; give it three).
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(conns.length, 1, 'no new connection while held down');
  // The limit is raised in the datastore: the session starts again at once and keeps the routes.
  fs.writeFileSync(config, model(10));
  await until('a new connection', () => conns.length >= 2, 20_000, POLL_MS);
  const back = await until(
    'Established with five routes',
    async () => {
      const v = await askSocket<NeighborView>(sock, 'show.neighbor', { address: PEER }, 2000);
      return v.state === 'Established' && v.maxPrefixes[0]?.received === 5 && v;
    },
    20_000,
    POLL_MS,
  );
  assert.equal(back.maxPrefixExceeded, null);
  assert.deepEqual(notifications(conns[1]), [], 'no Cease under the raised limit');
});
