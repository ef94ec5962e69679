// Fuzzing of the rtnetlink decoders (issue 15: the fuzzers never reached them). The kernel is not
// hostile, but a decoder bug on a route dump or a multicast event stops the FIB; the rule is the
// same as for BGP: a malformed message is a NetlinkDecodeError at the boundary that reads the
// datagram (STYLE "never let a RangeError be the error path"), never another exception.
// Datagrams are built from valid messages (Tern's encoders and the kernel layouts of
// test/fib/codec.test.ts), then mutated *inside*: an rtattr's length or type, a byte of a
// value, a family or a type, with the nlmsghdr length kept right (structure-aware), or cut and
// flipped anywhere (byte-level). Properties:
//   1. parseMessages, decodeRoute, decodeNexthop, decodeLink, decodeAddr, decodeAck and
//      scanRouteDump throw nothing but NetlinkDecodeError;
//   2. scanRouteDump and the generic decodeRoute agree: a route the fast path takes decodes to
//      the same destination, metric and nexthop id.
// Seed and saved failures as in test/fuzz/support.ts (test/fixtures/fuzz/netlink-*.hex).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MsgWriter, NetlinkDecodeError, decodeAck, parseMessages } from '../../fib/netlink/codec.js';
import { decodeRoute, encodeRoute, type RouteMsg } from '../../fib/netlink/route.js';
import { decodeNexthop, encodeNexthop } from '../../fib/netlink/nexthop.js';
import { decodeAddr, decodeLink } from '../../fib/netlink/link.js';
import { scanRouteDump } from '../../fib/kernel.js';
import * as C from '../../fib/netlink/consts.js';
import { prng } from '../../bench/prng.js';
import { FUZZ_SECONDS, fuzzSeed, guarded, loadFailures } from '../fuzz/support.js';

const SEED = fuzzSeed();
type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const K = { table: 254, metric: 32, protocol: 201 };

/** A datagram of 1-6 valid messages of the kinds Tern reads. */
function datagram(r: Rand): Buffer {
  const w = new MsgWriter();
  const parts: Buffer[] = [];
  for (let i = 0, n = 1 + int(r, 6); i < n; i++) {
    const k = int(r, 5);
    if (k <= 1) {
      const v6 = r() < 0.3;
      const route: RouteMsg = {
        family: v6 ? C.AF_INET6 : C.AF_INET,
        dstLen: v6 ? 64 : 26,
        tos: 0,
        table: r() < 0.8 ? 254 : 100,
        protocol: r() < 0.8 ? 201 : 186,
        scope: 0,
        type: r() < 0.85 ? C.RTN_UNICAST : C.RTN_BLACKHOLE,
        flags: 0,
        dst: Buffer.from(v6 ? '20010db8000000010000000000000000' : '0af40100', 'hex'),
        priority: r() < 0.9 ? 32 : 99,
      };
      const shape = int(r, 3);
      if (shape === 0) route.nhId = 0x54000000 + int(r, 9);
      else if (shape === 1) {
        route.gateway = Buffer.from([198, 18, 0, 2]);
        route.oif = 3;
      } else
        route.multipath = [
          { ifindex: 3, flags: 0, weight: 1, gateway: Buffer.from([198, 18, 0, 2]) },
          { ifindex: 4, flags: C.RTNH_F_ONLINK, weight: 2, gateway: Buffer.from([198, 18, 0, 3]) },
        ];
      encodeRoute(w, C.RTM_NEWROUTE, 2, 1, route);
    } else if (k === 2) {
      encodeNexthop(
        w,
        C.RTM_NEWNEXTHOP,
        2,
        1,
        r() < 0.5
          ? { id: 9, family: C.AF_INET, protocol: 201, flags: C.RTNH_F_ONLINK, oif: 4, gateway: Buffer.from([198, 18, 1, 2]) }
          : {
              id: 10,
              family: C.AF_INET,
              protocol: 201,
              flags: 0,
              group: [
                { id: 9, weight: 1 },
                { id: 11, weight: 3 },
              ],
            },
      );
    } else if (k === 3) {
      parts.push(w.take());
      // RTM_NEWLINK "tfib1a" and RTM_NEWADDR 198.18.0.1/24 as the kernel sends them (codec.test.ts)
      parts.push(
        Buffer.from(
          r() < 0.5
            ? '2c0000001000000000000000000000000000010005000000431001000000000' + '00b00030074666962316100' + '00'
            : '2800000014000000000000000000000002188000050000000800010' + '0c61200010800020' + '0c6120001',
          'hex',
        ),
      );
    } else {
      parts.push(w.take());
      // NLMSG_ERROR with an extended ACK: errno -17, echoed header, NLMSGERR_ATTR_MSG "exists"
      const msg = Buffer.from('6578697374730000', 'hex');
      const tlv = Buffer.concat([Buffer.from([4 + msg.length, 0, 1, 0]), msg]);
      const body = Buffer.concat([Buffer.from([0xef, 0xff, 0xff, 0xff]), Buffer.from('100000001800050007000000000000' + '00', 'hex'), tlv]);
      const h = Buffer.alloc(16);
      h.writeUInt32LE(16 + body.length, 0);
      h.writeUInt16LE(C.NLMSG_ERROR, 4);
      h.writeUInt16LE(C.NLM_F_CAPPED | C.NLM_F_ACK_TLVS, 6);
      parts.push(h, body);
    }
  }
  parts.push(w.take());
  return Buffer.concat(parts);
}

/** Offsets of the messages in a datagram (a walk that tolerates nothing). */
function messageOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 16 <= b.length; ) {
    const len = b.readUInt32LE(off);
    if (len < 16 || off + len > b.length) break;
    out.push(off);
    off += (len + 3) & ~3;
  }
  return out;
}

function mutate(r: Rand, src: Buffer): Buffer {
  const b = Buffer.from(src);
  const offs = messageOffsets(b);
  const m = offs.length ? offs[int(r, offs.length)] : 0;
  const mlen = b.length >= m + 16 ? Math.min(b.readUInt32LE(m), b.length - m) : 0;
  switch (int(r, 7)) {
    case 0: {
      // an rtattr length inside a message (structure-aware: the nlmsghdr stays right)
      if (mlen < 16) return b;
      const hdr =
        b.readUInt16LE(m + 4) === C.RTM_NEWLINK ? 16 : b.readUInt16LE(m + 4) === C.RTM_NEWNEXTHOP ? 8 : b.readUInt16LE(m + 4) === C.NLMSG_ERROR ? 20 : 12;
      const a = m + 16 + hdr;
      if (a + 4 <= m + mlen) b.writeUInt16LE([0, 3, 4, 5, 8, 200, 0xffff, int(r, 64)][int(r, 8)], a);
      return b;
    }
    case 1: // an rtattr type
      if (m + 32 <= b.length) b.writeUInt16LE(int(r, 40) | (r() < 0.2 ? 0x8000 : 0), m + 30);
      return b;
    case 2: // a byte inside a message
      if (mlen > 16) b[m + 16 + int(r, mlen - 16)] = [0, 1, 2, 10, 0xff, int(r, 256)][int(r, 6)];
      return b;
    case 3: // the family or the rtm_type / nlmsg type
      if (m + 24 <= b.length) b[m + 16 + (r() < 0.5 ? 0 : 7)] = int(r, 12);
      else if (m + 6 <= b.length) b.writeUInt16LE(int(r, 120), m + 4);
      return b;
    case 4: // the nlmsghdr length itself
      if (m + 4 <= b.length) b.writeUInt32LE([0, 15, 16, 17, mlen + 4, mlen - 4, 0xffffffff][int(r, 7)] >>> 0, m);
      return b;
    case 5: // cut anywhere
      return b.subarray(0, int(r, b.length + 1));
    default: // bit flips anywhere
      for (let i = 0, n = 1 + int(r, 3); i < n; i++) if (b.length) b[int(r, b.length)] ^= 1 << int(r, 8);
      return b;
  }
}

/** The properties for one datagram. */
function check(b: Buffer): void {
  const only = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof NetlinkDecodeError)) throw err;
    }
  };
  only(() => {
    for (const m of parseMessages(b)) {
      only(() => {
        if (m.type === C.RTM_NEWROUTE || m.type === C.RTM_DELROUTE) decodeRoute(m.payload);
        else if (m.type === C.RTM_NEWNEXTHOP) decodeNexthop(m.payload);
        else if (m.type === C.RTM_NEWLINK) decodeLink(m.payload);
        else if (m.type === C.RTM_NEWADDR) decodeAddr(m.payload);
        else if (m.type === C.NLMSG_ERROR) decodeAck(m);
      });
    }
  });
  only(() =>
    scanRouteDump(
      b,
      K,
      (family, dst, dstLen, metric, nhId) => {
        // 2. the fast path reads what the generic decoder reads
        const off = messageOffsets(b).find((o) => o + 16 <= dst && dst < o + b.readUInt32LE(o));
        assert.ok(off !== undefined, 'fast path offset inside a message');
        const r = decodeRoute(b.subarray(off + 16, off + b.readUInt32LE(off)));
        assert.equal(r.family, family === 4 ? C.AF_INET : C.AF_INET6);
        assert.equal(r.dstLen, dstLen);
        assert.equal(r.priority ?? 0, metric);
        assert.equal(r.nhId, nhId);
        assert.deepEqual([...r.dst], [...b.subarray(dst, dst + (family === 4 ? 4 : 16))]);
        return true;
      },
      () => undefined,
    ),
  );
}

test('netlink fuzz (RFC 3549 §2.3.2): saved failures replay clean (test/fixtures/fuzz/netlink-*.hex)', () => {
  for (const f of loadFailures('netlink')) for (const b of f.inputs) check(b);
});

test(`netlink fuzz (RFC 3549 §2.3.2 framing): rtnetlink decoders give only NetlinkDecodeError; the dump scanner agrees with decodeRoute [FUZZ_SEED=${SEED}, ${FUZZ_SECONDS}s]`, (t) => {
  const r = prng(SEED + 300);
  const deadline = Date.now() + FUZZ_SECONDS * 1000;
  let cases = 0;
  let whole = 0;
  while (Date.now() < deadline || cases < 3000) {
    let b = datagram(r);
    for (let k = 0, n = int(r, 3); k < n; k++) b = mutate(r, b);
    cases++;
    guarded(
      'netlink',
      SEED,
      () => [b],
      '',
      () => check(b),
    );
    try {
      parseMessages(b);
      whole++;
    } catch {
      /* counted as not whole */
    }
  }
  t.diagnostic(`${cases} datagrams, ${whole} frame whole`);
  assert.ok(whole > cases / 2, 'most datagrams frame, so the decoders behind the framing are reached');
});
