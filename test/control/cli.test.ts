// bgpctl end to end: spawns `node dist/src/bgpctl.js` against a control server backed by
// FakeDaemon on a temporary socket. Guards issue 7: OpenBGPD-like text, stable JSON field names,
// exit codes 0 (ok) / 1 (command failed) / 2 (daemon unreachable).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BGPCTL, fakeBgpctl, type Run } from './bgpctl-run.js';
import { BFD_ROW } from './fake-daemon.js';

const cli = fakeBgpctl('cli');
const { fake, bgpctl } = cli;

/** Up/Down spans depend on the clock; every format is 8 characters, so alignment survives. */
const normTimes = (s: string): string => s.replace(/\b(\d\d:\d\d:\d\d|\d+d\d\dh\d\dm|\d\dw\dd\d\dh)\b/g, 'HH:MM:SS');

test('show peers: OpenBGPD summary columns plus kind and description, aligned when piped', async () => {
  const r = await bgpctl(['show', 'peers']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    normTimes(r.stdout),
    [
      'Neighbor        AS  MsgRcvd  MsgSent  OutQ  Up/Down   State/PfxRcvd  Kind       Description',
      '127.0.0.2    64512     1234     1200     0  HH:MM:SS  3              mesh       node-b',
      '127.0.0.3    65001    98765     4321     2  HH:MM:SS  120            global     tor-1',
      '2001:db8::9  65002        0        0     0  HH:MM:SS  Active         selector',
      '127.0.0.4    64512        0        0     0  Never     Idle (Admin)   rr-client  node-d',
      '',
    ].join('\n'),
  );
  assert.ok(!r.stdout.includes('\u001b['), 'no ANSI color when stdout is a pipe');
  // `show summary` and plain `show` are the same command.
  assert.equal(normTimes((await bgpctl(['show', 'summary'])).stdout), normTimes(r.stdout));
  assert.equal(normTimes((await bgpctl(['show'])).stdout), normTimes(r.stdout));
});

test('-j show peers prints the PeerView objects with their documented field names', async () => {
  const r = await bgpctl(['-j', 'show', 'peers']);
  assert.equal(r.code, 0);
  const peers = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  assert.equal(peers.length, 4);
  assert.deepEqual(Object.keys(peers[0]).sort(), [
    'address',
    'adminDown',
    'asn',
    'description',
    'kind',
    'localAsn',
    'msgRcvd',
    'msgSent',
    'outQ',
    'port',
    'prefixesAccepted',
    'prefixesReceived',
    'prefixesSent',
    'since',
    'state',
  ]);
});

test('show neighbor: one session in full; unknown neighbor exits 1; bad address exits 1 before connecting', async () => {
  const r = await bgpctl(['show', 'neighbor', '127.0.0.2']);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(r.stdout, '', `stderr: ${r.stderr}`);
  const text = normTimes(r.stdout);
  assert.match(text, /^BGP neighbor is 127\.0\.0\.2, remote AS 64512, local AS 64512, internal link$/m);
  assert.match(text, /^ {2}BGP state = Established, up for HH:MM:SS$/m);
  assert.match(text, /^ {4}negotiated: mp-bgp ipv4-unicast, 4-octet-as$/m);
  // RFC 9003 shutdown communication of the last NOTIFICATION received.
  assert.match(text, /Last error received: Cease\/Administrative Shutdown \(6\/2\) HH:MM:SS ago, shutdown message "maintenance window"/);
  assert.match(text, /^ {4}Update\s+1159\s+1193$/m);
  // RFC 7606 actions per attribute, and routes left out (RFC 8654 §4, RFC 4271 §6.3).
  assert.match(text, /^ {4}ORIGIN \(1\): treat-as-withdraw x20000$/m);
  assert.match(text, /^ {2}Routes left out: 0 too large to send \(RFC 8654 §4\), 3 ignored for their next hop \(RFC 4271 §6\.3\)$/m);
  assert.match(text, /^ {2}Max-prefix ipv4: 3 of 1000 \(warning at 75%\), restart after 60s$/m);
  const j = JSON.parse((await bgpctl(['-j', 'show', 'neighbor', '127.0.0.2'])).stdout) as Record<string, unknown>;
  for (const k of [
    'localAddress',
    'remoteRouterId',
    'holdTimeNegotiated',
    'capabilities',
    'gracefulRestart',
    'messages',
    'prefixes',
    'lastErrorReceived',
    'updateErrors',
    'routesLeftOut',
    'maxPrefixes',
    'maxPrefixExceeded',
  ]) {
    assert.ok(k in j, `NeighborView has ${k}`);
  }
  const unknown = await bgpctl(['show', 'neighbor', '127.0.0.99']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stdout, '');
  assert.equal(unknown.stderr, 'bgpctl: no such neighbor: 127.0.0.99 (bgpctl show peers lists them)\n', 'issue 17: one wording everywhere');
  const bad = await bgpctl(['show', 'neighbor', 'router-1'], { TERN_SOCKET: join(cli.dir, 'absent.sock') });
  assert.equal(bad.code, 1, 'argument errors are found before the connection is tried');
  assert.match(bad.stderr, /bad neighbor 'router-1': expected an IPv4 or IPv6 address, or address:port/);
});

test('show rib: legend, header and rows; --detail shows why a path lost (RFC 4271 §9.1.2.2)', async () => {
  const r = await bgpctl(['show', 'rib']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      'flags: * = valid, > = best, = = multipath, I = iBGP, S = stale, F = filtered',
      'origin: i = IGP, e = EGP, ? = incomplete',
      '',
      'flags  prefix               nexthop           lpref    med aspath origin',
      '*>I    10.244.1.0/26        127.0.0.2           100      0 i',
      '*>S    198.18.100.0/24      127.0.0.3             -      - 65001 {65003,65004} ?',
      '*>     2001:db8:100::/48    2001:db8::9         100      - 65002 e',
      '',
    ].join('\n'),
  );
  const d = await bgpctl(['show', 'rib', '10.244.1.0/26', '--detail']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^BGP routing table entry for 10\.244\.1\.0\/26$/m);
  assert.match(d.stdout, /^ {4}Not best: step 4, longer AS_PATH \(2 > 0\)$/m);
  assert.equal(d.stdout.match(/BGP routing table entry/g)?.length, 1, 'one header per prefix, every path below it');
  const v6 = JSON.parse((await bgpctl(['-j', 'show', 'rib', '--family', 'ipv6'])).stdout) as Array<{ prefix: string; flags: object }>;
  assert.deepEqual(
    v6.map((x) => x.prefix),
    ['2001:db8:100::/48'],
  );
  assert.deepEqual(Object.keys(v6[0].flags), ['valid', 'best', 'multipath', 'ibgp', 'stale', 'filtered']);
});

test('show rib with a bad prefix exits 1 with the masked prefix suggested', async () => {
  const r = await bgpctl(['show', 'rib', '10.244.1.1/26']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /host bits set \(did you mean 10\.244\.1\.0\/26\?\)/);
  const n = await bgpctl(['show', 'rib', '10.244.1.0/40']);
  assert.equal(n.code, 1);
  assert.match(n.stderr, /length must be 0-32/);
});

test('-j show rib streams 100k rows as one valid JSON array', async () => {
  fake.ribRows = 100_000;
  try {
    const r = await new Promise<Run>((resolve) => {
      execFile(process.execPath, [BGPCTL, '-j', 'show', 'rib'], { env: { TERN_SOCKET: cli.sock }, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as unknown[];
    assert.equal(rows.length, 100_000);
  } finally {
    fake.ribRows = 0;
  }
});

test('show fib marks every difference between Tern and the kernel', async () => {
  const r = await bgpctl(['show', 'fib']);
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    [
      'Status     Prefix           Tern                Kernel',
      'ok         10.244.1.0/26    127.0.0.2 dev eth0  127.0.0.2 dev eth0',
      'MISSING    198.18.100.0/24  127.0.0.3 dev eth0  -',
      'DIFFERENT  198.18.101.0/24  127.0.0.3 dev eth0  127.0.0.2 dev eth0',
      'EXTRA      198.18.102.0/24  -                   127.0.0.9 dev eth1 weight 1, 127.0.0.8 dev eth1 weight 2',
      '',
      '4 routes, 3 differ from the kernel',
      '',
    ].join('\n'),
  );
  const j = JSON.parse((await bgpctl(['-j', 'show', 'fib', '198.18.100.0/24'])).stdout) as unknown;
  assert.deepEqual(j, [{ prefix: '198.18.100.0/24', tern: [{ via: '127.0.0.3', dev: 'eth0' }], kernel: null, status: 'missing' }]);
});

test('show bfd prints each BFD session (RFC 5880 §6.8.1 state, negotiated TX and detection time), -j the view', async () => {
  const r = await bgpctl(['show', 'bfd']);
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    [
      'Peer       Hop     State  Remote  TX     Detect  Config     Diag',
      '127.0.0.2  single  Up     Up      100ms  300ms   100/100x3  No Diagnostic',
      '127.0.0.2: last down 2026-01-02T11:58:00.000Z (Control Detection Time Expired); 2 packets dropped for TTL != 255 (RFC 5881 §5)',
      '',
    ].join('\n'),
  );
  assert.deepEqual(JSON.parse((await bgpctl(['-j', 'show', 'bfd'])).stdout), [BFD_ROW]);
});

test('show config prints the planned peers with the reason each was planned', async () => {
  const r = await bgpctl(['show', 'config']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Node node-a, AS 64512, router-id 127\.0\.0\.1$/m);
  assert.match(r.stdout, /^ {2}127\.0\.0\.3 {2}global {2}BGPPeer tor-1 \(global\)$/m);
  // RFC 8092 large communities are shown beside the RFC 1997 ones (issue 16).
  assert.match(r.stdout, /^ {2}10\.244\.1\.0\/26 +64512:100 64512:1:2$/m);
  const j = JSON.parse((await bgpctl(['-j', 'show', 'config'])).stdout) as Record<string, unknown>;
  for (const k of ['nodeName', 'asn', 'routerId', 'listen', 'peers', 'advertised']) assert.ok(k in j, k);
});

test('neighbor actions pass RFC 9003 shutdown text; over 255 UTF-8 bytes is refused client-side', async () => {
  fake.actions = [];
  const ok = await bgpctl(['neighbor', '127.0.0.3', 'down', '--message', 'maintenance until 14:00']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'neighbor 127.0.0.3: down requested\n');
  const hard = await bgpctl(['neighbor', '127.0.0.3', 'clear', '--hard']);
  assert.equal(hard.code, 0, hard.stderr);
  assert.deepEqual(fake.actions, [
    { addr: '127.0.0.3', action: 'down', opts: { message: 'maintenance until 14:00', hard: false } },
    { addr: '127.0.0.3', action: 'clear', opts: { message: undefined, hard: true } },
  ]);
  const long = await bgpctl(['neighbor', '127.0.0.3', 'down', '-m', 'ü'.repeat(128)]);
  assert.equal(long.code, 1);
  assert.match(long.stderr, /256 bytes of UTF-8; RFC 9003 allows at most 255/);
  const unknown = await bgpctl(['neighbor', '127.0.0.99', 'clear']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'bgpctl: no such neighbor: 127.0.0.99 (bgpctl show peers lists them)\n', 'issue 17: one wording everywhere');
  assert.equal(fake.actions.length, 2, 'refused requests changed nothing');
});

test('reload, fib couple|decouple and log level reach the daemon; a rejected reload exits 1', async () => {
  const dec = await bgpctl(['fib', 'decouple']);
  assert.equal(dec.code, 0, dec.stderr);
  assert.equal(fake.coupled, false);
  assert.equal((await bgpctl(['fib', 'couple'])).code, 0);
  assert.equal(fake.coupled, true);
  assert.equal((await bgpctl(['log', 'level', 'debug'])).code, 0);
  assert.equal(fake.logLevel, 'debug');
  assert.equal((await bgpctl(['log', 'level', 'loud'])).code, 1);
  const ok = await bgpctl(['reload']);
  assert.equal(ok.stdout, 'reload done:\n  - peer 127.0.0.5 added\n');
  fake.reloadResult = { ok: false, errors: ['cluster.yaml:12: BGPPeer tor-1: asNumber missing'] };
  try {
    const bad = await bgpctl(['reload']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /reload failed; the running configuration is unchanged:\n {2}- cluster\.yaml:12/);
  } finally {
    fake.reloadResult = { ok: true, effects: ['peer 127.0.0.5 added'] };
  }
});

test('health: exit 0 when ready, 1 when not, with the reasons', async () => {
  const ok = await bgpctl(['health']);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, 'ready: live, config loaded, listening, 2/4 sessions Established, 2 within grace\n');
  const saved = fake.healthView;
  fake.healthView = { ...saved, ready: false, reasons: ['session 127.0.0.4 is Idle for 95s (grace 60s)'] };
  try {
    const bad = await bgpctl(['health']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^not ready: .*\n {2}- session 127\.0\.0\.4 is Idle for 95s \(grace 60s\)\n$/);
    assert.equal(JSON.parse((await bgpctl(['-j', 'health'])).stdout).ready, false);
  } finally {
    fake.healthView = saved;
  }
});

test('daemon unreachable: exit 2 and a message that says what to check', async () => {
  const missing = join(cli.dir, 'nope', 'ternd.sock');
  const r = await bgpctl(['show', 'peers'], { TERN_SOCKET: missing });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `bgpctl: cannot connect to ${missing}: no such file — is ternd running? use -s or TERN_SOCKET\n`);
  // -s wins over TERN_SOCKET.
  assert.equal((await bgpctl(['-s', cli.sock, 'show', 'peers'], { TERN_SOCKET: missing })).code, 0);
  assert.equal((await bgpctl(['health', '-s', missing])).code, 2, 'an exec probe fails when ternd is gone');
});

test('usage errors exit 1 without a help page; completion script is generated', async () => {
  const r = await bgpctl(['frobnicate']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Unknown argument: frobnicate/);
  const c = await bgpctl(['completion']);
  assert.equal(c.code, 0);
  assert.match(c.stdout, /bgpctl-completions/);
});

test("completion offers the running daemon's neighbor addresses after `show neighbor` and `neighbor`", async () => {
  // The shell passes the whole command line, program name first (see the bash test below).
  const flag = '--get-yargs-completions';
  assert.deepEqual((await bgpctl([flag, 'bgpctl', 'show', 'neighbor', ''])).stdout.split('\n').filter(Boolean), [
    '127.0.0.2',
    '127.0.0.3',
    '2001:db8::9',
    '127.0.0.4',
  ]);
  assert.equal((await bgpctl([flag, 'bgpctl', '-s', cli.sock, 'neighbor', '2001'])).stdout, '2001:db8::9\n');
  // Elsewhere yargs completes commands; with ternd gone, no suggestions and no error text.
  assert.match((await bgpctl([flag, 'bgpctl', 'show', ''])).stdout, /^peers\nneighbor\nrib\nfib\nconfig\nstatus\nbfd\n$/);
  const gone = await bgpctl([flag, 'bgpctl', 'neighbor', ''], { TERN_SOCKET: join(cli.dir, 'absent.sock') });
  assert.deepEqual([gone.code, gone.stdout, gone.stderr], [0, '', '']);
});

test('issue 17: bgpctl --version names the package version, a commit of this history and node', async () => {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const root = join(__dirname, '..', '..', '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const git = (args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const r = await bgpctl(['--version']);
  assert.equal(r.code, 0, r.stderr);
  const m = new RegExp(
    `^bgpctl ${pkg.version.replace(/\./g, '\\.')} \\(commit ([0-9a-f]{12}(\\+dirty)?|unknown), node ${process.version.replace(/\./g, '\\.')}\\)\\n$`,
  ).exec(r.stdout);
  assert.ok(m, r.stdout);
  if (git(['rev-parse', 'HEAD']) === null) {
    // Built outside a git checkout there is no commit to record: then it must say so, not guess.
    assert.equal(m[1], 'unknown');
    return;
  }
  // The build recorded the commit it was made from: a real commit, HEAD or before it (a commit
  // made after the build is not what runs). Never a made-up id.
  const short = m[1].replace('+dirty', '');
  const full = git(['rev-parse', '--verify', '--quiet', `${short}^{commit}`]);
  assert.ok(full, `${short} is not a commit of this repository`);
  assert.notEqual(git(['merge-base', '--is-ancestor', full, 'HEAD']), null, `${short} is not HEAD or an ancestor of it`);
});
