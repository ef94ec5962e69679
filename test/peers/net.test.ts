// Address, CIDR, AS number (RFC 5396 asdot) and duration parsing used by the model.
import { test } from 'node:test';
import { isIPv4 } from 'node:net';
import assert from 'node:assert/strict';
import { canonicalIp, cidrContains, parseAsn, parseCidr, parseCidrDetail, parseDuration, type Cidr } from '../../peers/model/net.js';

test('IPv6 text is canonicalised per RFC 5952 (compression, lower case, embedded IPv4)', () => {
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['fe80::', 'fe80::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:198.18.0.1', '::ffff:c612:1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['198.18.0.1', '198.18.0.1'],
  ];
  for (const [i, o] of cases) assert.equal(canonicalIp(i), o, i);
  assert.equal(canonicalIp('198.18.0.256'), undefined);
  assert.equal(canonicalIp('2001:db8::1::2'), undefined);
});

test('CIDR parsing: host bits, lengths, containment', () => {
  const c = parseCidr('10.244.1.7/16') as Cidr;
  assert.equal(c.text, '10.244.0.0/16');
  assert.match(parseCidr('10.244.1.7/16', true) as string, /has host bits set \(did you mean 10\.244\.0\.0\/16\?\)/);
  assert.match(parseCidr('10.0.0.0/33') as string, /invalid prefix length \(0\.\.32\)/);
  assert.match(parseCidr('fd00::/129') as string, /invalid prefix length \(0\.\.128\)/);
  assert.equal((parseCidr('198.18.0.1') as Cidr).text, '198.18.0.1/32');
  assert.equal((parseCidr('0.0.0.0/0') as Cidr).text, '0.0.0.0/0');
  assert.ok(cidrContains(parseCidr('10.0.0.0/8') as Cidr, parseCidr('10.1.0.0/16') as Cidr));
  assert.ok(cidrContains(parseCidr('10.0.0.0/8') as Cidr, parseCidr('10.0.0.0/8') as Cidr));
  assert.ok(!cidrContains(parseCidr('10.1.0.0/16') as Cidr, parseCidr('10.0.0.0/8') as Cidr));
  assert.ok(!cidrContains(parseCidr('::/0') as Cidr, parseCidr('10.0.0.0/8') as Cidr), 'families never contain each other');
});

test('AS numbers: plain, string, asdot (RFC 5396), range', () => {
  assert.equal(parseAsn(65000, '65000'), 65000);
  assert.equal(parseAsn('4294967295', '"4294967295"'), 4294967295);
  assert.equal(parseAsn('1.10', '"1.10"'), 65546);
  assert.equal(parseAsn(1.1, '1.10'), 65546, 'unquoted asdot read from the source text');
  assert.equal(parseAsn('65535.65535', ''), 4294967295);
  assert.match(parseAsn(4294967296, '4294967296') as string, /not a valid AS number \(0\.\.4294967295\)/);
  assert.match(parseAsn('65536.1', '') as string, /not a valid asdot AS number/);
  assert.match(parseAsn('AS65000', '') as string, /not a valid AS number/);
  assert.match(parseAsn(-1, '-1') as string, /not a valid AS number/);
});

test('durations in Go/Kubernetes syntax, in seconds', () => {
  assert.equal(parseDuration('120s'), 120);
  assert.equal(parseDuration('2m'), 120);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('1.5s'), 1.5);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['10', '', 's', '1d', '1m x', '-5s']) assert.equal(typeof parseDuration(bad), 'string', bad);
});

test('issue 17: the IPv4 CIDR fast path (Number arithmetic) agrees with the general BigInt path', () => {
  // The same address as an IPv4-mapped IPv6 prefix goes through ipToBigint's general path.
  const rnd = (n: number) => Math.floor(Math.random() * n);
  const seen: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const a = [rnd(256), rnd(256), rnd(256), rnd(256)];
    const len = i < 33 ? i : rnd(33);
    const text = `${a.join('.')}/${len}`;
    const v4 = parseCidrDetail(text);
    const v6 = parseCidrDetail(`::ffff:${a.join('.')}/${96 + len}`);
    assert.ok(typeof v4 !== 'string' && typeof v6 !== 'string', text);
    assert.equal(v4.cidr.net, v6.cidr.net & 0xffffffffn, text);
    assert.equal(v4.hostBits, v6.hostBits, text);
    assert.equal(v4.cidr.len, len);
    assert.equal(v4.cidr.text, `${(parseCidr(v4.cidr.text) as Cidr).text}`);
    if (v4.hostBits) assert.match(parseCidr(text, true) as string, /has host bits set/);
    else assert.equal((parseCidr(text, true) as Cidr).text, text);
    if (i < 3) seen.push(v4.cidr.text);
  }
  assert.deepEqual(seen, ['0.0.0.0/0', ...seen.slice(1)]);
  assert.equal((parseCidr('255.255.255.255/31') as Cidr).text, '255.255.255.254/31');
  assert.equal((parseCidr('255.255.255.255/31') as Cidr).net, 0xfffffffen);
  assert.match(parseCidr('010.0.0.1/8') as string, /not a valid CIDR/);
  assert.match(parseCidr('10.0.0.256/8') as string, /not a valid CIDR/);
  assert.match(parseCidr('10.0.0.0/8x') as string, /invalid prefix length \(0\.\.32\)/);
});

test('issue 17: the IPv4 reader without regex accepts exactly what node:net isIPv4 accepts', () => {
  const alphabet = '0123456789.....12/x ';
  const texts = [
    '0.0.0.0',
    '255.255.255.255',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.',
    '.1.2.3.4',
    '1..2.3',
    '1.2.3.04',
    '1.2.3.4 ',
    '',
    '00.0.0.0',
    '100.200.250.255',
    '1.2.3.4.5',
    '249.250.251.252',
  ];
  for (let i = 0; i < 20000; i++) {
    const n = 1 + Math.floor(Math.random() * 15);
    texts.push(Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join(''));
  }
  for (const t of texts) {
    if (t.includes('/') || t.includes(':')) continue;
    const r = parseCidrDetail(t);
    assert.equal(typeof r !== 'string', isIPv4(t), JSON.stringify(t));
    if (typeof r !== 'string') assert.equal(r.cidr.text, `${t}/32`);
  }
});
