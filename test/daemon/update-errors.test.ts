// ternd against a raw peer that floods malformed UPDATEs (issue 15: 20,000 of them wrote
// 20,000 warning lines). RFC 7606 §2 treat-as-withdraw keeps the session up; the warnings are
// rate limited per peer and reason, and every action is counted per attribute in
// `bgpctl show neighbor` (-j) and /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import { doc } from './helpers.js';
import { RawPeer, rawKeepalive, rawOpen, freshPort } from '../bgp/session-helpers.js';
import type { NeighborView, PeerView, RibRowView } from '../../src/control/api.js';
import { encodeMessage } from '../../bgp/codec/index.js';
import { PrefixListImpl } from '../../bgp/codec/prefixes.js';
import { DEFAULT_CONTEXT, MsgType } from '../../bgp/codec/types.js';
import { askSocket, streamSocket } from './control.js';
import { until } from '../until.js';

const ask = <T>(sock: string, cmd: string, args: Record<string, unknown> = {}): Promise<T> => askSocket<T>(sock, cmd, args, 2000);
const rib = (sock: string): Promise<RibRowView[]> => streamSocket<RibRowView>(sock, 'show.rib', { view: 'loc' }, 2000);

const TERND = path.resolve(__dirname, '..', '..', 'src', 'ternd.js');
const NODE = '127.0.0.61';
const PEER = '127.0.0.63';
const FLOOD = 20_000;

/** A whole UPDATE: ORIGIN `origin` (3 is malformed: RFC 7606 §7.1), AS_PATH 65009, NEXT_HOP `nextHop`, one prefix. */
function update(origin: number, prefix: string, nextHop = PEER): Buffer {
  const good = encodeMessage(
    {
      type: MsgType.UPDATE,
      withdrawn: PrefixListImpl.empty(1),
      attrs: { origin: 0, asPath: [{ type: 2, asns: [65009] }], nextHop },
      nlri: PrefixListImpl.from(1, [prefix]),
    },
    DEFAULT_CONTEXT,
  );
  // ORIGIN is the first attribute (type-code order): flags, type 1, length 1, value.
  assert.deepEqual([...good.subarray(23, 26)], [0x40, 1, 1]);
  good[26] = origin;
  return good;
}

const get = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });

test('RFC 7606 §2: 20,000 malformed UPDATEs keep the session, log a handful of lines, and are counted per attribute in show neighbor and /metrics; RFC 4271 §6.3 bad next hops likewise', {
  timeout: 120_000,
}, async (t) => {
  const bgpPort = freshPort();
  const peerPort = freshPort();
  const httpPort = freshPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i15-flood-'));
  const config = path.join(dir, 'cluster.yaml');
  fs.writeFileSync(
    config,
    [
      doc('BGPConfiguration', 'default', `  asNumber: 64512\n  listenPort: ${bgpPort}\n  bindMode: NodeIP\n  nodeToNodeMeshEnabled: false`),
      doc('Node', 'node-a', `  bgp:\n    ipv4Address: ${NODE}/8`),
      doc('BGPPeer', 'hostile', `  peerIP: ${PEER}:${peerPort}\n  asNumber: 65009`),
    ].join(''),
  );
  let conn: net.Socket | undefined;
  const peer = new RawPeer((s) => {
    conn = s;
    s.write(Buffer.concat([rawOpen(65009, '198.18.0.63', 90), rawKeepalive()]));
  });
  await peer.listen(PEER, peerPort);
  const sock = path.join(dir, 'ternd.sock');
  const proc = spawn(
    process.execPath,
    [TERND, '--config', config, '--node', 'node-a', '--fib', 'none', '--control-socket', sock, '--probes', `${NODE}:${httpPort}`, '--connect-retry', '1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let buf = '';
  proc.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  proc.stderr!.on('data', (c: Buffer) => lines.push(c.toString()));
  t.after(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await peer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await until('Established with the raw peer', async () => (await ask<PeerView[]>(sock, 'show.peers')).find((p) => p.state === 'Established'));
  const mark = lines.length;
  const flood: Buffer[] = [];
  for (let i = 0; i < FLOOD; i++) flood.push(update(3, `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`));
  conn!.write(Buffer.concat(flood));
  // A good UPDATE after the flood: once it is in the RIB, every malformed one was processed.
  conn!.write(update(0, '10.250.0.0/24'));
  await until('the good route after the flood', async () => (await rib(sock)).some((r) => r.prefix === '10.250.0.0/24'));

  const n = await ask<NeighborView>(sock, 'show.neighbor', { address: PEER });
  assert.equal(n.state, 'Established', 'RFC 7606: treat-as-withdraw is not a session reset');
  assert.deepEqual(n.updateErrors, [{ attrType: 1, attribute: 'ORIGIN', action: 'treat-as-withdraw', count: FLOOD }]);
  assert.equal(n.prefixes.find((p) => p.family === 'ipv4')?.received, 1, 'only the good route is in the Adj-RIB-In');
  const warnings = lines.slice(mark).filter((l) => l.includes('RFC 7606'));
  assert.ok(warnings.length >= 1, 'the first malformed UPDATE is logged, with its reason');
  assert.ok(warnings.length <= 3, `${warnings.length} RFC 7606 lines for ${FLOOD} malformed UPDATEs`);
  assert.match(warnings[0], /ORIGIN/);

  // RFC 4271 §6.3: 1,000 routes with next hop 0.0.0.0 are ignored (not best, not installed),
  // counted, and logged rate limited too.
  const mark2 = lines.length;
  const bad: Buffer[] = [];
  for (let i = 0; i < 1000; i++) bad.push(update(0, `10.200.${i >> 8}.${i & 255}/32`, '0.0.0.0'));
  conn!.write(Buffer.concat(bad));
  await until(
    '1000 routes ignored for their next hop',
    async () => (await ask<NeighborView>(sock, 'show.neighbor', { address: PEER })).routesLeftOut.badNextHopIgnored === 1000,
  );
  const best = (await rib(sock)).filter((r) => r.prefix.startsWith('10.200.') && r.flags.best).length;
  assert.equal(best, 0, 'no route with next hop 0.0.0.0 is best');
  const nhLines = lines.slice(mark2).filter((l) => l.includes('RFC 4271 §6.3'));
  assert.ok(nhLines.length >= 1 && nhLines.length <= 3, `${nhLines.length} next-hop lines for 1000 routes`);
  assert.match(nhLines[0], /0\.0\.0\.0/);

  const metrics = await get(`http://${NODE}:${httpPort}/metrics`);
  const row = metrics
    .split('\n')
    .find((l) => l.startsWith('tern_bgp_update_errors_total{') && l.includes(`peer="${PEER}"`) && l.includes('attribute="ORIGIN"'));
  assert.ok(
    row,
    `the action is counted in /metrics: ${metrics
      .split('\n')
      .filter((l) => l.includes('update_errors'))
      .join(' / ')}`,
  );
  assert.match(row, /action="treat-as-withdraw"\} 20000$/);
  assert.ok(
    metrics.split('\n').some((l) => l === `tern_bgp_routes_left_out_total{peer="${PEER}",reason="bad-next-hop"} 1000`),
    'bad next hops counted in /metrics',
  );

  // RFC 7606 §7.11: an MP_REACH_NLRI whose next-hop length is wrong resets the session
  // (3/9, data: the attribute); that action is counted too, against MP_REACH_NLRI.
  const attrsBytes = Buffer.from([0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfe, 0x09, 0x90, 14, 0, 13, 0, 2, 1, 5, 1, 2, 3, 4, 5, 0, 16, 0x20, 0x01]);
  const bad7606 = Buffer.alloc(23 + attrsBytes.length);
  bad7606.fill(0xff, 0, 16);
  bad7606.writeUInt16BE(bad7606.length, 16);
  bad7606[18] = 2;
  bad7606.writeUInt16BE(attrsBytes.length, 21);
  attrsBytes.copy(bad7606, 23);
  conn!.write(bad7606);
  const reset = await until('the session-reset counted', async () =>
    (await ask<NeighborView>(sock, 'show.neighbor', { address: PEER })).updateErrors.find((u) => u.action === 'session-reset'),
  );
  assert.deepEqual(reset, { attrType: 14, attribute: 'MP_REACH_NLRI', action: 'session-reset', count: 1 });
});
