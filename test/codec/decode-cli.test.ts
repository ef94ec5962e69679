// `bgpctl decode` (src/cli/decode.ts): hex parsing, session-context flags, the NOTIFICATION or
// RFC 7606 action printed for malformed input and exit code 1 (docs/bgpctl.md "decode").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contextComment, contextOf, decodeAll, parseHexInput } from '../../src/cli/decode.js';
import { FIXTURE_DIR } from './helpers.js';

const BGPCTL = path.resolve(__dirname, '..', '..', 'src', 'bgpctl.js');
const KEEPALIVE = 'ffffffffffffffffffffffffffffffff001304';
const bgpctl = (args: string[], input?: string) => spawnSync(process.execPath, [BGPCTL, ...args], { input, encoding: 'utf8' });

test('hex input ignores whitespace, ":", "0x" and # comments', () => {
  assert.equal(parseHexInput('# from tcpdump\n0xff:FF ff\n').toString('hex'), 'ffffff');
  assert.throws(() => parseHexInput('fg'), /not hex/);
  assert.throws(() => parseHexInput('fff'), /odd/);
});

test('flags build the session context: --no-as4, --addpath ipv4,ipv6, --extended (RFC 6793, 7911, 8654)', () => {
  const c = contextOf({ as4: false, addpath: 'ipv4,ipv6', extended: true });
  assert.deepEqual([c.as4, c.addPathRx.ipv4, c.addPathRx.ipv6, c.extendedMessage], [false, true, true, true]);
  assert.throws(() => contextOf({ as4: true, addpath: 'vpnv4', extended: false }), /ipv4,ipv6/);
});

test('an AS_PATH segment of length 0 reports treat-as-withdraw (RFC 7606 §7.2)', () => {
  const hex = 'ffffffffffffffffffffffffffffffff 002b 02 0000 0010 400101 00 400202 0200 400304 c6120001 18 0a0000';
  const all = decodeAll(parseHexInput(hex), contextOf({ as4: true, extended: false }));
  assert.equal(all.length, 1);
  const [o] = all;
  assert.equal(o.ok, false);
  assert.match(o.text, /treat-as-withdraw.*AS_PATH segment 1 has length 0/s);
});

test('CLI: good input exits 0; a bad header prints the NOTIFICATION (RFC 4271 §6.1) and exits 1', () => {
  const ok = bgpctl(['decode', KEEPALIVE]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /KEEPALIVE/);
  const bad = bgpctl(['decode'], KEEPALIVE.replace('001304', '001204'));
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /Message Header Error \/ Bad Message Length \(1\/2\)/);
  const j = bgpctl(['decode', '-j', KEEPALIVE.replace('001304', '001309')]);
  assert.equal(j.status, 1);
  assert.deepEqual((JSON.parse(j.stdout) as { notification: { code: number; subcode: number } }[])[0].notification.subcode, 3);
});

test('CLI: a 2-octet session decodes AS_TRANS paths with --no-as4 (RFC 6793 §4.2.3)', () => {
  const hex = 'ffffffffffffffffffffffffffffffff 002d 02 0000 0012 400101 00 400204 0201 fde9 400304 c6120001 18 0a0000';
  const r = bgpctl(['decode', '--no-as4', '-j', hex]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { attrs: { asPath: unknown } }[])[0].attrs.asPath, [{ type: 2, asns: [65001] }]);
});

test('a "# context:" comment in the input sets the session context unless a flag says otherwise', () => {
  assert.deepEqual(contextComment('# x\n# context: as2 addpath-rx=ipv4,ipv6 extended\nff'), { as4: false, addpath: 'ipv4,ipv6', extended: true });
  assert.deepEqual(contextComment('# context: as4 addpath-rx=none standard'), { as4: true, addpath: '', extended: false });
  // RFC 7911 §3: the add-path fixture only decodes with path identifiers.
  const r = bgpctl(['decode', '-j'], fs.readFileSync(path.join(FIXTURE_DIR, 'handmade-addpath.hex'), 'utf8'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal((JSON.parse(r.stdout) as { nlri: { pathId: number }[] }[])[0].nlri[1].pathId, 2);
});
