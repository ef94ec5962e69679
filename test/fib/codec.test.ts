// rtnetlink codec against bytes written out by hand from the kernel UAPI headers
// (include/uapi/linux/netlink.h, rtnetlink.h, nexthop.h, if_link.h, if_addr.h): every field is
// annotated below, so each vector can be checked against the struct layouts without a kernel.
// Where a vector mirrors what the kernel sends, the comment says which `ip monitor` line it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MsgWriter, NetlinkDecodeError, ackText, decodeAck, parseAttrs, parseMessages } from '../../fib/netlink/codec.js';
import { decodeRoute, encodeRoute, type RouteMsg } from '../../fib/netlink/route.js';
import { scanRouteDump } from '../../fib/kernel.js';
import { formatIp } from '../../bgp/codec/address.js';
import { decodeNexthop, encodeNexthop } from '../../fib/netlink/nexthop.js';
import { decodeAddr, decodeLink } from '../../fib/netlink/link.js';
import * as C from '../../fib/netlink/consts.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

// `ip route add 10.244.1.0/26 nhid 0x54000001 proto 201 metric 32` as Tern encodes it.
const NEWROUTE_NHID = hex(`
  3c000000 1800 0506 07000000 00000000  # nlmsghdr: len 60, RTM_NEWROUTE, REQUEST|ACK|EXCL|CREATE, seq 7, pid 0
  02 1a 00 00 fe c9 00 01 00000000      # rtmsg: AF_INET, dst_len 26, src 0, tos 0, table 254, proto 201, scope universe, RTN_UNICAST, flags 0
  0800 0f00 fe000000                    # RTA_TABLE 254
  0800 0100 0af40100                    # RTA_DST 10.244.1.0
  0800 0600 20000000                    # RTA_PRIORITY 32
  0800 1e00 01000054                    # RTA_NH_ID 0x54000001
`);

test('RTM_NEWROUTE with a nexthop id encodes to the rtmsg layout (rtnetlink.h struct rtmsg)', () => {
  const w = new MsgWriter(16);
  encodeRoute(w, C.RTM_NEWROUTE, C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_EXCL | C.NLM_F_CREATE, 7, {
    family: C.AF_INET,
    dstLen: 26,
    tos: 0,
    table: 254,
    protocol: 201,
    scope: 0,
    type: C.RTN_UNICAST,
    flags: 0,
    dst: Buffer.from([10, 244, 1, 0]),
    priority: 32,
    nhId: 0x54000001,
  });
  assert.equal(w.take().toString('hex'), NEWROUTE_NHID.toString('hex'));
});

test('the same bytes decode back to the route (decode and encode side by side)', () => {
  const [m] = parseMessages(NEWROUTE_NHID);
  assert.equal(m.type, C.RTM_NEWROUTE);
  assert.equal(m.seq, 7);
  const r = decodeRoute(m.payload);
  assert.deepEqual([r.family, r.dstLen, r.table, r.protocol, r.type, r.priority, r.nhId], [C.AF_INET, 26, 254, 201, C.RTN_UNICAST, 32, 0x54000001]);
  assert.deepEqual([...r.dst], [10, 244, 1, 0]);
});

// `ip monitor route`: "10.244.3.0/26 proto 201 metric 32
//   nexthop via 198.18.0.2 dev #3 weight 1 nexthop via 198.18.0.3 dev #3 weight 3" (inline ECMP).
const MULTIPATH = hex(`
  50000000 1800 0000 00000000 00000000  # len 80, RTM_NEWROUTE, notification (seq 0)
  02 1a 00 00 fe c9 00 01 00000000
  0800 0f00 fe000000                    # RTA_TABLE 254
  0800 0100 0af40300                    # RTA_DST 10.244.3.0
  2400 0900                             # RTA_MULTIPATH, 36 bytes
    1000 00 00 03000000  0800 0500 c6120002   # rtnexthop len 16, flags 0, hops 0 (weight 1), ifindex 3; RTA_GATEWAY 198.18.0.2
    1000 04 02 03000000  0800 0500 c6120003   # flags RTNH_F_ONLINK, hops 2 (weight 3); RTA_GATEWAY 198.18.0.3
`);

test('RTA_MULTIPATH: rtnexthop structs with nested RTA_GATEWAY, weight = rtnh_hops + 1', () => {
  const r = decodeRoute(parseMessages(MULTIPATH)[0].payload);
  assert.equal(r.multipath?.length, 2);
  assert.deepEqual(
    r.multipath?.map((h) => [h.ifindex, h.weight, h.flags, [...(h.gateway ?? [])].join('.')]),
    [
      [3, 1, 0, '198.18.0.2'],
      [3, 3, C.RTNH_F_ONLINK, '198.18.0.3'],
    ],
  );
  const w = new MsgWriter();
  encodeRoute(w, C.RTM_NEWROUTE, 0, 0, r);
  assert.equal(w.take().toString('hex'), MULTIPATH.toString('hex'), 're-encodes to the same bytes');
});

// The kernel's answer to a route whose nexthop id does not exist, with NETLINK_EXT_ACK and
// NETLINK_CAP_ACK set (struct nlmsgerr + NLMSGERR_ATTR_MSG, netlink.h).
const EXTACK = hex(`
  44000000 0200 0003 07000000 34120000  # len 68, NLMSG_ERROR, NLM_F_CAPPED|NLM_F_ACK_TLVS, seq 7, pid 0x1234
  eaffffff                              # error -22 (EINVAL)
  3c000000 1800 0506 07000000 00000000  # the request's header only (capped)
  1e00 0100 4e657874686f70 20 6964 20 646f6573 20 6e6f74 20 6578697374 00 0000  # NLMSGERR_ATTR_MSG "Nexthop id does not exist\\0", padded
`);

test('NLMSG_ERROR with extended ACK: errno name and the kernel message', () => {
  const a = decodeAck(parseMessages(EXTACK)[0]);
  assert.equal(a.seq, 7);
  assert.equal(a.errno, 22);
  assert.equal(a.requestType, C.RTM_NEWROUTE);
  assert.equal(a.message, 'Nexthop id does not exist');
  assert.equal(ackText(a), 'EINVAL: Nexthop id does not exist');
});

test('a positive ACK is errno 0; a multipart dump splits into messages up to NLMSG_DONE', () => {
  const ack = hex('24000000 0200 0001 08000000 00000000  00000000  3c000000 1800 0506 08000000 00000000');
  const done = hex('14000000 0300 0200 09000000 00000000 00000000'); // NLMSG_DONE, NLM_F_MULTI, int 0
  const msgs = parseMessages(Buffer.concat([ack, MULTIPATH, done]));
  assert.deepEqual(
    msgs.map((m) => m.type),
    [C.NLMSG_ERROR, C.RTM_NEWROUTE, C.NLMSG_DONE],
  );
  assert.equal(decodeAck(msgs[0]).errno, 0);
});

test('truncated input is a NetlinkDecodeError, never a RangeError (at every cut point)', () => {
  for (let cut = 1; cut < MULTIPATH.length; cut++) {
    const b = Buffer.from(MULTIPATH.subarray(0, cut));
    if (cut >= 4) b.writeUInt32LE(Math.max(16, Math.min(cut, 80)), 0); // a header claiming what is there
    try {
      const msgs = parseMessages(b);
      for (const m of msgs) decodeRoute(m.payload);
    } catch (e) {
      assert.ok(e instanceof NetlinkDecodeError, `cut ${cut}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  assert.throws(() => parseMessages(hex('ff000000 1800 0000 00000000 00000000')), NetlinkDecodeError);
  assert.throws(() => parseAttrs(hex('0900 0100 0a000000')), NetlinkDecodeError);
});

// `ip nexthop add id 0x54000003 group 0x54000001/0x54000002,3 proto 201`.
const NH_GROUP = hex(`
  34000000 6800 0506 05000000 00000000  # len 52, RTM_NEWNEXTHOP, REQUEST|ACK|EXCL|CREATE, seq 5
  00 00 c9 00 00000000                  # nhmsg: AF_UNSPEC (a group's family), scope 0, proto 201, flags 0
  0800 0100 03000054                    # NHA_ID
  1400 0200                             # NHA_GROUP, 2 x struct nexthop_grp
    01000054 00 00 0000                 #   id 0x54000001, weight-1 = 0
    02000054 02 00 0000                 #   id 0x54000002, weight-1 = 2
`);

test('nexthop group: struct nexthop_grp entries with weight - 1 (nexthop.h)', () => {
  const w = new MsgWriter();
  encodeNexthop(w, C.RTM_NEWNEXTHOP, C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_EXCL | C.NLM_F_CREATE, 5, {
    id: 0x54000003,
    family: 0,
    protocol: 201,
    flags: 0,
    group: [
      { id: 0x54000001, weight: 1 },
      { id: 0x54000002, weight: 3 },
    ],
  });
  assert.equal(w.take().toString('hex'), NH_GROUP.toString('hex'));
  const n = decodeNexthop(parseMessages(NH_GROUP)[0].payload);
  assert.deepEqual(n.group, [
    { id: 0x54000001, weight: 1 },
    { id: 0x54000002, weight: 3 },
  ]);
});

test('single nexthop with gateway, device and onlink round-trips', () => {
  const w = new MsgWriter();
  const nh = { id: 9, family: C.AF_INET, protocol: 201, flags: C.RTNH_F_ONLINK, oif: 4, gateway: Buffer.from([198, 18, 1, 2]) };
  encodeNexthop(w, C.RTM_NEWNEXTHOP, 0, 1, nh);
  const back = decodeNexthop(parseMessages(w.take())[0].payload);
  assert.deepEqual({ ...back, gateway: [...back.gateway!] }, { ...nh, gateway: [198, 18, 1, 2] });
});

test('RTM_NEWLINK and RTM_NEWADDR notifications (`ip monitor link/address`)', () => {
  const link = hex(`
    2c000000 1000 0000 00000000 00000000  # len 44, RTM_NEWLINK
    00 00 0100 05000000 43100100 00000000 # ifinfomsg: AF_UNSPEC, ARPHRD_ETHER, index 5, flags UP|BROADCAST|MULTICAST|LOWER_UP, change 0
    0b00 0300 7466696231610000            # IFLA_IFNAME "tfib1a"
  `);
  const l = decodeLink(parseMessages(link)[0].payload);
  assert.deepEqual(l, { index: 5, flags: 0x11043, name: 'tfib1a' });
  assert.ok(l.flags & C.IFF_UP && l.flags & C.IFF_LOWER_UP);
  const addr = hex(`
    28000000 1400 0000 00000000 00000000  # len 40, RTM_NEWADDR
    02 18 80 00 05000000                  # ifaddrmsg: AF_INET, /24, IFA_F_PERMANENT, scope universe, index 5
    0800 0100 c6120001                    # IFA_ADDRESS 198.18.0.1
    0800 0200 c6120001                    # IFA_LOCAL 198.18.0.1
  `);
  const a = decodeAddr(parseMessages(addr)[0].payload);
  assert.deepEqual([a.family, a.prefixLen, a.index, [...a.address].join('.')], [C.AF_INET, 24, 5, '198.18.0.1']);
});

// Issue 5: a restart dumps a million of Tern's routes; scanRouteDump reads the common one (on a
// nexthop object) in place and must sort every other shape exactly as the generic decode does.
test('route dump scanner: own nexthop routes in place, other own routes decoded, foreign ones skipped', () => {
  const k = { table: 254, metric: 32, protocol: 201 };
  const w = new MsgWriter();
  const base = { tos: 0, table: 254, protocol: 201, scope: 0, type: C.RTN_UNICAST, flags: 0, priority: 32 };
  const v4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
  const add = (r: Partial<RouteMsg> & Pick<RouteMsg, 'dst' | 'dstLen'>): void =>
    encodeRoute(w, C.RTM_NEWROUTE, 2, 1, { ...base, family: r.dst.length === 4 ? C.AF_INET : C.AF_INET6, ...r } as RouteMsg);
  add({ dst: v4('10.244.1.0'), dstLen: 26, nhId: 0x54000001 }); // fast
  add({ dst: Buffer.from('20010db8000000010000000000000000', 'hex'), dstLen: 64, nhId: 0x54000002 }); // fast, IPv6
  add({ dst: v4('10.244.2.0'), dstLen: 26, gateway: v4('198.18.0.2'), oif: 3 }); // inline gateway: slow
  add({ dst: v4('10.244.3.0'), dstLen: 26, type: C.RTN_BLACKHOLE }); // blackhole: slow
  add({ dst: v4('10.244.4.0'), dstLen: 26, nhId: 0x54000001, protocol: 186 }); // FRR's: skipped
  add({ dst: v4('10.244.5.0'), dstLen: 26, nhId: 0x54000001, flags: C.RTM_F_CLONED }); // a cached clone: skipped
  add({ dst: v4('10.244.6.0'), dstLen: 26, nhId: 0x54000001, table: 100 }); // another table: skipped
  add({ dst: v4('10.244.7.0'), dstLen: 26, nhId: 0x54000001, priority: 99 }); // fast declines (stray metric): slow
  add({ dst: v4('10.244.8.0'), dstLen: 26, multipath: [{ ifindex: 3, flags: 0, weight: 1, gateway: v4('198.18.0.2') }] }); // slow
  const buf = w.take();
  const fast: string[] = [];
  const slow: string[] = [];
  scanRouteDump(
    buf,
    k,
    (family, dst, len, metric, nhId) => {
      if (metric !== 32) return false;
      fast.push(`${formatIp(buf.subarray(dst, dst + (family === 4 ? 4 : 16)))}/${len} nh ${nhId.toString(16)}`);
      return true;
    },
    (r) => slow.push(`${formatIp(r.dst)}/${r.dstLen} type ${r.type} metric ${r.priority}`),
  );
  assert.deepEqual(fast, ['10.244.1.0/26 nh 54000001', '2001:db8:0:1::/64 nh 54000002']);
  assert.deepEqual(slow, [
    '10.244.2.0/26 type 1 metric 32',
    '10.244.3.0/26 type 6 metric 32',
    '10.244.7.0/26 type 1 metric 99',
    '10.244.8.0/26 type 1 metric 32',
  ]);
  // A message whose length overruns the chunk is a NetlinkDecodeError, as parseMessages says.
  const cut = Buffer.from(buf.subarray(0, 40));
  assert.throws(
    () =>
      scanRouteDump(
        cut,
        k,
        () => true,
        () => undefined,
      ),
    NetlinkDecodeError,
  );
  const badAttr = Buffer.from(buf.subarray(0, buf.readUInt32LE(0)));
  badAttr.writeUInt16LE(200, 28); // the first rtattr claims 200 bytes
  assert.throws(
    () =>
      scanRouteDump(
        badAttr,
        k,
        () => true,
        () => undefined,
      ),
    NetlinkDecodeError,
  );
});
