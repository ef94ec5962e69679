// bgpctl end to end against FakeDaemon (as cli.test.ts): the operator's commands of issue 17 —
// shell completion run in a real bash, address:port neighbor keys, JSON errors, show status,
// show rib summary and filters, neighbor all, fib flush, --fib none wording, reload warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BGPCTL, fakeBgpctl } from './bgpctl-run.js';
import type { RibSummaryView, StatusView } from '../../src/control/api.js';

const cli = fakeBgpctl('cli17');
const { fake, bgpctl } = cli;

test('issue 17: the generated bash completion script, run in bash, offers the neighbor addresses', async () => {
  // A `bgpctl` on PATH, as an installed package has it; the script calls it by that name.
  const bin = join(cli.dir, 'bin');
  execFileSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'bgpctl'), `#!/bin/sh\nexec "${process.execPath}" "${BGPCTL}" "$@"\n`);
  chmodSync(join(bin, 'bgpctl'), 0o755);
  const script = (await bgpctl(['completion'])).stdout;
  writeFileSync(join(cli.dir, 'completion.bash'), script);
  const complete = (line: string[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      // COMP_WORDS/COMP_CWORD as bash sets them on <TAB>; then print what the function offers.
      const words = line.map((w) => `'${w}'`).join(' ');
      const body = `source '${join(cli.dir, 'completion.bash')}'; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _bgpctl_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`;
      execFile('bash', ['-c', body], { env: { PATH: `${bin}:${process.env.PATH}`, TERN_SOCKET: cli.sock } }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.split('\n').filter(Boolean)),
      );
    });
  assert.deepEqual(await complete(['bgpctl', 'show', 'neighbor', '']), ['127.0.0.2', '127.0.0.3', '2001:db8::9', '127.0.0.4']);
  assert.deepEqual(await complete(['bgpctl', 'neighbor', '127.0.0.']), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  assert.deepEqual(await complete(['bgpctl', 'show', 'nei', '2001']), ['2001:db8::9']);
  // Everything else is still yargs' completion of commands.
  assert.deepEqual(await complete(['bgpctl', 'show', 'st']), ['status']);
});

test('issue 17: show neighbor and neighbor actions take the address:port key show config prints', async () => {
  // Port 179 is the bare address (peers/plan.ts peerKey).
  const r = await bgpctl(['-j', 'show', 'neighbor', '127.0.0.3:179']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal((JSON.parse(r.stdout) as { address: string }).address, '127.0.0.3');
  // Another port reaches the daemon as that key (not refused as a bad address).
  const other = await bgpctl(['show', 'neighbor', '[2001:db8::9]:1179']);
  assert.equal(other.code, 1);
  assert.equal(other.stderr, 'bgpctl: no such neighbor: [2001:db8::9]:1179 (bgpctl show peers lists them)\n');
  const bad = await bgpctl(['show', 'neighbor', '127.0.0.3:70000']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /port must be 1-65535/);
  fake.actions = [];
  assert.equal((await bgpctl(['neighbor', '127.0.0.2:179', 'refresh'])).code, 0);
  assert.deepEqual(
    fake.actions.map((a) => a.addr),
    ['127.0.0.2'],
  );
});

test('issue 17: under -j every error is JSON on stdout with a stable code, and the exit code stays', async () => {
  const unknown = await bgpctl(['-j', 'show', 'neighbor', '127.0.0.99']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, '');
  assert.deepEqual(JSON.parse(unknown.stdout), { error: { code: 'unknown-neighbor', message: 'no such neighbor: 127.0.0.99 (bgpctl show peers lists them)' } });
  const usage = await bgpctl(['-j', 'show', 'rib', '10.0.0.1/8']);
  assert.equal(usage.code, 1);
  assert.equal((JSON.parse(usage.stdout) as { error: { code: string } }).error.code, 'usage');
  const gone = await bgpctl(['-j', 'show', 'peers'], { TERN_SOCKET: join(cli.dir, 'absent.sock') });
  assert.equal(gone.code, 2);
  assert.equal((JSON.parse(gone.stdout) as { error: { code: string } }).error.code, 'unreachable');
  // A command line yargs itself refuses.
  const yargsFail = await bgpctl(['-j', 'frobnicate']);
  assert.equal(yargsFail.code, 1);
  assert.match((JSON.parse(yargsFail.stdout) as { error: { message: string } }).error.message, /Unknown argument: frobnicate/);
  // decode needs no daemon, and its input errors are JSON too.
  const hex = await bgpctl(['-j', 'decode', 'zz']);
  assert.equal(hex.code, 1);
  assert.deepEqual(JSON.parse(hex.stdout), { error: { code: 'usage', message: 'not hex: "z" at hex digit 1' } });
  const rib = await bgpctl(['-j', 'show', 'rib', '--neighbor', '127.0.0.99']);
  assert.equal(rib.code, 1);
  assert.equal(rib.stdout.trim().startsWith('{'), true, 'not half a JSON array');
  assert.equal((JSON.parse(rib.stdout) as { error: { code: string } }).error.code, 'unknown-neighbor');
});

test('issue 17: show rib --out without a neighbor names the receiver of each row', async () => {
  const r = await bgpctl(['show', 'rib', '--out']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[3], 'to              flags  prefix               nexthop           lpref    med aspath origin');
  assert.match(lines[4], /^127\.0\.0\.2\s+\*>I\s+10\.244\.1\.0\/26 /);
  // With --neighbor the receiver is known: no column.
  assert.match((await bgpctl(['show', 'rib', '--out', '--neighbor', '127.0.0.2'])).stdout.split('\n')[3], /^flags /);
});

test('issue 17: show status — version, uptime, router ID, memory, RIB and FIB counts, datastore state', async () => {
  const r = await bgpctl(['show', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.stdout.split('\n').map((l) => l.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')),
    [
      'Version:    ternd 0.1.0 (commit 0123456789ab, node v20.0.0), pid 4242',
      'Started:    TIME, up 1d02h03m',
      'Node:       node-a, AS 64512, router ID 127.0.0.1',
      'Sessions:   2/4 Established, 1 admin down',
      'RIB:        ipv4 3 prefixes, 4 paths; ipv6 1 prefixes, 1 paths',
      'FIB:        kernel, coupled (routes are written), 4 routes',
      'Memory:     RSS 120.0 MiB, heap 40.0 MiB, external 3.0 MiB',
      'Datastore:  file /etc/tern/cluster.yaml: synced since TIME, model of TIME',
      'Log level:  info',
      '',
    ],
  );
  const j = JSON.parse((await bgpctl(['-j', 'show', 'status'])).stdout) as StatusView;
  assert.deepEqual(Object.keys(j).sort(), [
    'asn',
    'commit',
    'datastore',
    'dirty',
    'fib',
    'logLevel',
    'memory',
    'nodeName',
    'nodeVersion',
    'pid',
    'rib',
    'routerId',
    'sessions',
    'startedAt',
    'uptimeSeconds',
    'version',
  ]);
  assert.deepEqual(Object.keys(j.datastore ?? {}).sort(), ['kind', 'lastSync', 'since', 'source', 'state']);
});

test('issue 17: show rib summary counts per family and per peer and family', async () => {
  const r = await bgpctl(['show', 'rib', 'summary']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      'Family  Prefixes  Paths',
      'ipv4           3      4',
      'ipv6           1      1',
      '',
      'Neighbor     Family  State        Received  Accepted  Sent  Stale',
      '127.0.0.2    ipv4    Established         3         3     2      0',
      '127.0.0.3    ipv4    Established       120       118     4      1',
      '2001:db8::9  ipv6    Active              0         0     0      0',
      '',
    ].join('\n'),
  );
  const j = JSON.parse((await bgpctl(['-j', 'show', 'rib', 'summary'])).stdout) as RibSummaryView;
  assert.deepEqual(Object.keys(j.peers[0]).sort(), ['accepted', 'address', 'family', 'received', 'sent', 'stale', 'state']);
});

test('issue 17: show rib filters reach the daemon checked; the AS_PATH regex runs in bgpctl', async () => {
  const q = async (args: string[]): Promise<unknown> => {
    const r = await bgpctl(['-j', 'show', 'rib', ...args]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return fake.lastRibQuery;
  };
  assert.deepEqual(await q(['10.244.0.0/16', 'or-longer']), { view: 'loc', prefix: '10.244.0.0/16', match: 'longer' });
  assert.deepEqual(await q(['10.244.1.0/26', 'shorter', '--family', 'ipv4']), { view: 'loc', prefix: '10.244.1.0/26', match: 'shorter', family: 'ipv4' });
  assert.deepEqual(await q(['--community', 'no-export', '--large-community', '65001:1:2']), {
    view: 'loc',
    community: 'no-export',
    largeCommunity: '65001:1:2',
  });
  assert.deepEqual(await q(['--in', '--source-as', '65001']), { view: 'in', asFilter: { kind: 'source-as', asn: 65001 } });
  assert.deepEqual(await q(['--empty-as']), { view: 'loc', asFilter: { kind: 'empty-as' } });
  // The regex is not sent: the rows are filtered here (FakeDaemon's three best paths).
  const rows = JSON.parse((await bgpctl(['-j', 'show', 'rib', '--as-path', '^65001 '])).stdout) as Array<{ prefix: string }>;
  assert.deepEqual(
    rows.map((r) => r.prefix),
    ['198.18.100.0/24'],
  );
  assert.equal('asPath' in (fake.lastRibQuery as object), false);
  for (const [args, why] of [
    [['--community', '64512:70000'], /bad community '64512:70000'/],
    [['--large-community', '1:2'], /bad large community/],
    [['--as', '65001', '--peer-as', '65002'], /give one of --as/],
    [['--as-path', '('], /bad --as-path regular expression/],
    [['10.244.1.1', 'longer'], /longer needs a prefix/],
  ] as const) {
    const r = await bgpctl(['show', 'rib', ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, why);
  }
});

test('issue 17: neighbor all clear acts on every session; one that cannot is skipped with why', async () => {
  fake.actions = [];
  const r = await bgpctl(['neighbor', 'all', 'clear']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'clear requested for 4 neighbors: 127.0.0.2 127.0.0.3 2001:db8::9 127.0.0.4\n');
  assert.deepEqual(
    fake.actions.map((a) => [a.addr, a.action]),
    ['127.0.0.2', '127.0.0.3', '2001:db8::9', '127.0.0.4'].map((a) => [a, 'clear']),
  );
  const refresh = JSON.parse((await bgpctl(['-j', 'neighbor', 'all', 'refresh'])).stdout) as { done: string[]; skipped: Array<{ address: string }> };
  assert.deepEqual(refresh.done, ['127.0.0.2', '127.0.0.3']);
  assert.deepEqual(
    refresh.skipped.map((s) => s.address),
    ['2001:db8::9', '127.0.0.4'],
  );
});

test('issue 17: fib flush is refused while coupled, removes after decouple; --fib none is never "decoupled" or "in sync"', async () => {
  const coupled = await bgpctl(['fib', 'flush']);
  assert.equal(coupled.code, 1);
  assert.match(coupled.stderr, /coupled: run bgpctl fib decouple first/);
  assert.equal(fake.flushed, 0);
  const dec = await bgpctl(['fib', 'decouple']);
  assert.equal(dec.stdout, 'fib decoupled: kernel writes off, the kernel keeps the routes it has (bgpctl fib flush removes them)\n');
  assert.match((await bgpctl(['show', 'fib'])).stdout, /\nFIB decoupled: kernel writes are off \(bgpctl fib couple\); 4 routes, 3 differ from the kernel\n$/);
  assert.match((await bgpctl(['show', 'config'])).stdout, /^FIB: kernel, decoupled \(writes off; the kernel keeps the routes it has\)$/m);
  const fl = await bgpctl(['fib', 'flush']);
  assert.equal(fl.stdout, 'fib flushed: 3 Tern routes removed from the kernel; bgpctl fib couple writes them back\n');
  assert.equal(fake.flushed, 1);
  assert.equal((await bgpctl(['fib', 'couple'])).code, 0);
  fake.fibDriver = 'none';
  try {
    const cfg = (await bgpctl(['show', 'config'])).stdout;
    assert.match(cfg, /^FIB: none \(--fib none: routes stay in the RIB, nothing is written to the kernel\)$/m);
    assert.doesNotMatch(cfg, /decoupled/);
    const fib = (await bgpctl(['show', 'fib'])).stdout;
    assert.equal(fib, 'ternd runs with --fib none: no routes are written to the kernel (4 routes wanted); see bgpctl show rib\n');
    const no = await bgpctl(['fib', 'decouple']);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /--fib none/);
  } finally {
    fake.fibDriver = 'kernel';
  }
});

test("issue 17: bgpctl reload prints the new config's warnings, applied or refused", async () => {
  const saved = fake.reloadResult;
  fake.reloadResult = { ok: true, effects: ['peer 127.0.0.5 added'], warnings: ['cluster.yaml:7: BGPPeer tor-1: spec.maxPrefix: unknown field, ignored'] };
  try {
    const r = await bgpctl(['reload']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'reload done:\n  - peer 127.0.0.5 added\nwarnings:\n  - cluster.yaml:7: BGPPeer tor-1: spec.maxPrefix: unknown field, ignored\n');
    fake.reloadResult = { ok: false, errors: ['cluster.yaml:9: Node a: bad'], warnings: ['cluster.yaml:3: x: unknown field'] };
    const bad = await bgpctl(['reload']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, / {2}- cluster\.yaml:9: Node a: bad\nwarnings:\n {2}- cluster\.yaml:3: x: unknown field\n$/);
  } finally {
    fake.reloadResult = saved;
  }
});
