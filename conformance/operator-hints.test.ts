// Issue 17 ("logs an operator can read"), against a real FRR: why a session does not come up,
// or comes up and carries nothing, said in one line each, and one line per event.
// - TCP MD5 mismatch (RFC 2385): FRR's kernel drops our SYNs silently, the session sits in
//   Connect. Before the fix: zero log lines and "last reset: never". Now one rate-limited
//   "no answer ... password mismatch" line and lastConnectError/hints in `show neighbor`.
// - FRR's default `bgp ebgp-requires-policy` (RFC 8212): the session is Established and FRR
//   sends End-of-RIB with no prefixes. Now a hint naming RFC 8212 and the FRR knob, gone once
//   FRR does send routes.
// - One line per event: reaching Established is one info line; SIGTERM's sessions go down
//   with "ternd stopping (SIGTERM)", not "stopped by operator".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pairLab,
  BGPCTL,
  TERND,
  bgpctl,
  calicoYaml,
  conformanceGate,
  run,
  sleep,
  startFrr,
  startTernd,
  vtysh,
  waitFor,
  waitFrrEstablished,
  type CalicoModel,
  type TernLogRecord,
} from './lab/index.js';

const TERN4 = '198.18.118.1';
const FRR4 = '198.18.118.2';
const FRR_AS = 65118;

interface NeighborJson {
  state: string;
  lastConnectError: string;
  hints: string[];
  lastResetReason: string;
}

test('issue 17: MD5 mismatch and RFC 8212 empty eBGP table are explained; one log line per event (real FRR)', { timeout: 120_000 }, async (t) => {
  if (!conformanceGate(t, ['root', 'ip', 'bgpd', 'vtysh', 'ternd'], TERND)) return;
  const { lab, hostA: ternHost, hostB: frrHost } = await pairLab(t, 'i17h', ['tern', 'frr'], { v4: `${TERN4}/24`, v4b: `${FRR4}/24` });
  const node = 'node-0';
  const model: CalicoModel = {
    asNumber: 64512,
    nodes: [{ name: node, ipv4Address: `${TERN4}/24` }],
    peers: [{ name: 'tor', node, peerIP: FRR4, asNumber: FRR_AS, keepaliveTime: '1s', password: 'tern-side-secret' }],
    pools: { pods: '10.244.0.0/16' },
    extraDocs: [
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPAMBlock', metadata: { name: 'b1' }, spec: { cidr: '10.244.118.0/26', affinity: `host:${node}` } },
    ],
  };
  await startFrr(lab, frrHost, {
    asn: FRR_AS,
    routerId: FRR4,
    gracefulRestart: true,
    networks4: ['198.19.118.0/24'],
    neighbors: [{ addr: TERN4, remoteAs: 64512, password: 'frr-side-secret', ipv4: true }],
    // FRR's shipped default, which the lab's generated config turns off: RFC 8212 for eBGP.
    extra: ['bgp ebgp-requires-policy'],
  });

  await t.test('RFC 2385: an MD5 mismatch is one rate-limited "no answer" line naming the password, and show neighbor says so', async () => {
    const tern = await startTernd(lab, ternHost, { configYaml: model, node, logLevel: 'info', args: ['--probes', 'off', '--connect-retry', '1'] });
    const hint = (r: TernLogRecord) => /no answer from 198\.18\.118\.2.*TCP MD5 configured this is what a password mismatch looks like/.test(r.msg);
    await tern.waitForLog(hint, 20_000, 'the MD5 hint');
    // Attempts go on every second; the line is not repeated for each.
    const n = await waitFor('several failed attempts', 20_000, async () => {
      const v = (await bgpctl(lab, ternHost, 'show', 'neighbor', FRR4)) as NeighborJson;
      return / ([3-9]|\d\d+) in a row/.test(v.lastConnectError) ? v : undefined;
    });
    assert.notEqual(n.state, 'Established');
    assert.match(n.lastConnectError, /^no answer \(connection attempt timed out\)/);
    assert.equal(n.hints.length, 1);
    assert.match(n.hints[0], /password mismatch/);
    assert.equal(tern.logs(hint).length, 1, 'rate-limited: one line, not one per attempt');
    const text = await run(process.execPath, [BGPCTL, '-s', tern.controlSocket, 'show', 'neighbor', FRR4]);
    assert.match(text.stdout, /Last connect error: no answer/);
    assert.match(text.stdout, /Hint: no answer from 198\.18\.118\.2/);
    await lab.stop(tern.pid);
  });

  await t.test('RFC 8212: FRR with ebgp-requires-policy sends End-of-RIB and nothing else; the hint names the cause and goes once routes arrive', async () => {
    model.peers![0].password = 'frr-side-secret';
    const tern = await startTernd(lab, ternHost, { configYaml: model, node, logLevel: 'info', args: ['--probes', 'off', '--connect-retry', '1'] });
    await waitFrrEstablished(lab, frrHost, TERN4, 30_000);
    const eor = await tern.waitForLog((r) => /sent End-of-RIB for ipv4 with no prefixes/.test(r.msg), 20_000, 'the RFC 8212 hint');
    assert.match(eor.msg, /RFC 8212; FRR: add an outbound route-map, or "no bgp ebgp-requires-policy"/);
    const n = (await bgpctl(lab, ternHost, 'show', 'neighbor', FRR4)) as NeighborJson;
    assert.equal(n.state, 'Established');
    assert.equal(n.lastConnectError, '', 'cleared once Established');
    assert.equal(n.hints.length, 1);
    assert.match(n.hints[0], /RFC 8212/);
    // One line for reaching Established (the session driver's own lines are debug).
    const up = tern.logs((r) => (r.level ?? 0) >= 30 && r.peer === FRR4 && /stablished/.test(r.msg));
    assert.equal(up.length, 1, up.map((r) => r.msg).join(' | '));

    // The hint is right about the cause: lifting the policy requirement brings the routes, and the hint goes.
    await vtysh(lab, frrHost, 'configure terminal', `router bgp ${FRR_AS}`, 'no bgp ebgp-requires-policy', 'end', 'clear bgp ipv4 unicast * soft out');
    const after = await waitFor('a prefix from FRR and no hint', 20_000, async () => {
      const v = (await bgpctl(lab, ternHost, 'show', 'neighbor', FRR4)) as NeighborJson & { prefixes: { family: string; received: number }[] };
      return v.prefixes.some((p) => p.family === 'ipv4' && p.received > 0) ? v : undefined;
    });
    assert.deepEqual(after.hints, []);

    // A control command is one line saying what was done; the session's down says who did it.
    let mark = tern.records.length;
    const cleared = await run(process.execPath, [BGPCTL, '-s', tern.controlSocket, 'neighbor', FRR4, 'clear']);
    assert.equal(cleared.code, 0, cleared.stderr);
    await tern.waitForLog((r) => r.peer === FRR4 && /down/.test(r.msg), 10_000, 'the cleared session down', mark);
    const control = tern.records.slice(mark).filter((r) => (r.level ?? 0) >= 30 && r.component === 'control');
    assert.deepEqual(
      control.map((r) => r.msg),
      [`bgpctl neighbor ${FRR4} clear`],
    );
    assert.match(tern.records.slice(mark).find((r) => r.peer === FRR4 && /down/.test(r.msg))!.msg, /cleared by bgpctl/);
    await waitFrrEstablished(lab, frrHost, TERN4, 30_000);

    // A config change that restarts the session is told by the plan's line, naming the field.
    mark = tern.records.length;
    model.peers![0].keepaliveTime = '2s';
    const fs = await import('node:fs');
    fs.writeFileSync(`${tern.configFile}.tmp`, calicoYaml(model));
    fs.renameSync(`${tern.configFile}.tmp`, tern.configFile);
    const restarted = await tern.waitForLog((r) => /restarted/.test(r.msg), 15_000, 'the config-driven restart', mark);
    assert.match(restarted.msg, new RegExp(`session with ${FRR4.replace(/\./g, '\\.')} restarted: keepaliveTime, holdTime changed`));
    await waitFrrEstablished(lab, frrHost, TERN4, 30_000);
    // (FRR may answer the restart with a NOTIFICATION of its own, a separate event with its own line.)
    const infoLines = tern.records.slice(mark).filter((r) => (r.level ?? 0) >= 40 && r.peer === FRR4 && /down/.test(r.msg));
    assert.deepEqual(
      infoLines.map((r) => r.msg),
      [],
      'no warning-level down line for a restart the config asked for',
    );

    // SIGTERM: the session goes down saying why, not "stopped by operator".
    mark = tern.records.length;
    await lab.stop(tern.pid);
    const down = tern.records.slice(mark).filter((r) => r.peer === FRR4 && /down/.test(r.msg));
    assert.ok(down.length >= 1, 'a down line for the session');
    assert.ok(
      down.every((r) => /ternd stopping \(SIGTERM\)/.test(r.msg)),
      down.map((r) => r.msg).join(' | '),
    );
    assert.equal(tern.logs((r) => /stopped by operator/.test(JSON.stringify(r))).length, 0);
    await sleep(0);
  });
});
