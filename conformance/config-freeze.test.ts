// Issue 17 ("the daemon must not freeze on input it was given"), against a real BIRD 2: a YAML
// alias bomb and a large file dropped into the watched config of a running ternd. Before the
// fix, the bomb froze ternd (probes and bgpctl stopped, sessions dropped). BIRD runs a 3 s hold
// time, so an event loop held for longer than that would drop the session: the outcome checked
// is that BIRD's session never restarts, that bgpctl answers while the big file is still being
// parsed, and that the bomb is refused by name while the big file is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  type Lab,
  pairLab,
  BGPCTL,
  TERND,
  birdc,
  bgpctl,
  conformanceGate,
  run,
  startBird,
  startTernd,
  waitBirdEstablished,
  type CalicoModel,
} from './lab/index.js';
import { aliasBomb, ipamBlocksYaml } from '../bench/config-gen.js';

const TERN4 = '198.18.117.1';
const BIRD4 = '198.18.117.2';

/** BIRD's `show protocols` line for the session: its "since" column changes when the session restarts. */
async function birdSince(lab: Lab, host: string): Promise<string> {
  const out = await birdc(lab, host, 'show protocols tern4');
  const line = out.split('\n').find((l) => l.startsWith('tern4'));
  assert.ok(line && /Established/.test(line), `BIRD session Established: ${out}`);
  return line.replace(/\s+/g, ' ');
}

/** Replace the file the way an editor or a ConfigMap update does (write, then rename). */
function replaceFile(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

test('issue 17: a running ternd keeps its BIRD session and answers bgpctl while an alias bomb and a large file land in its watched config', {
  timeout: 180_000,
}, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bird', 'birdc', 'ternd'], TERND)) return;
  const { lab, hostA: ternHost, hostB: birdHost } = await pairLab(t, 'i17f', ['tern', 'bird'], { v4: `${TERN4}/24`, v4b: `${BIRD4}/24` });
  const node = 'node-0';
  const model: CalicoModel = {
    asNumber: 64512,
    nodes: [{ name: node, ipv4Address: `${TERN4}/24` }],
    peers: [{ name: 'tor', node, peerIP: BIRD4, asNumber: 65001, keepaliveTime: '1s' }],
    pools: { pods: '10.0.0.0/8' },
  };
  const tern = await startTernd(lab, ternHost, { configYaml: model, node, logLevel: 'info' });
  await startBird(lab, birdHost, {
    routerId: BIRD4,
    neighbors: [{ name: 'tern4', localAddr: BIRD4, localAs: 65001, neighborAddr: TERN4, neighborAs: 64512, holdTime: 3, keepaliveTime: 1 }],
  });
  await waitBirdEstablished(lab, birdHost, 'tern4', 30_000);
  const since = await birdSince(lab, birdHost);

  // 1. The bomb: refused by the alias limit; the running model stays.
  let mark = tern.records.length;
  replaceFile(tern.configFile, aliasBomb());
  const refusal = await tern.waitForLog((r) => /config refused/.test(r.msg), 30_000, 'the bomb refused', mark);
  assert.match(refusal.msg, /YAML aliases expand to more than the limit of 10000 nodes/);
  const peers = await bgpctl(lab, ternHost, 'show', 'peers');
  assert.match(JSON.stringify(peers), /Established/);

  // 2. A large valid file (10k IPAMBlocks, ~1.8 MB; node-0 owns 10 of them) in flow style, which
  // takes the yaml package's path, seconds of parsing on any machine: while it is parsed, bgpctl
  // answers; then it is applied and the blocks are advertised to BIRD.
  mark = tern.records.length;
  replaceFile(
    tern.configFile,
    ipamBlocksYaml(10_000, 1000, true).replace('ipv4Address: 198.18.0.1/24', `ipv4Address: ${TERN4}/24`) +
      `---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: tor\nspec:\n  node: ${node}\n  peerIP: ${BIRD4}\n  asNumber: 65001\n  keepaliveTime: 1s\n`,
  );
  const answered: number[] = [];
  let reloaded = false;
  const applied = tern
    .waitForLog((r) => /config reloaded/.test(r.msg) || /config refused/.test(r.msg), 150_000, 'the large file applied', mark)
    .then((r) => {
      reloaded = true;
      return r;
    });
  while (!reloaded) {
    const r = await run(process.execPath, [BGPCTL, '-s', tern.controlSocket, '-j', 'show', 'peers'], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, `bgpctl answers during the parse: ${r.stderr}`);
    if (!reloaded) answered.push(tern.records.length);
    await new Promise((res) => setTimeout(res, 200));
  }
  const done = await applied;
  assert.match(done.msg, /config reloaded/, 'the large file is valid and applied');
  assert.ok(answered.length > 0, 'at least one bgpctl answer arrived before the large file was applied');
  const routes = await birdc(lab, birdHost, 'show route count');
  assert.match(routes, /\b10 of 10 routes/, `BIRD received node-0 10 blocks: ${routes}`);

  // 3. Through all of it the session never restarted on either side.
  assert.equal(await birdSince(lab, birdHost), since, 'BIRD session not restarted');
  assert.deepEqual(
    tern.logs((r) => /down/.test(r.msg) && r.component === 'session'),
    [],
  );
});
