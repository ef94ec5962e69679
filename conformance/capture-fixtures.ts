// Capture real BGP messages from BIRD 2 and FRR talking to each other, for the codec's tests.
// Run as root: `npm run build && node dist/conformance/capture-fixtures.js [outdir]`.
// Two eBGP sessions in network namespaces, each recorded with `tcpdump -w` on the veth:
//   as4: 4200000001 <-> 4200000002, IPv4+IPv6, graceful restart, add-path, extended message,
//        route refresh, communities of all three kinds, MED; then refresh, withdraw, Cease.
//   as2: BIRD as an OLD speaker (RFC 6793 `enable as4 off`, AS 65001) against FRR in AS 65002
//        whose route-map prepends 4200000003, so FRR sends AS_TRANS + AS4_PATH; no add-path.
// The pcap is read by conformance/lab/pcap.ts, and each direction's BGP stream is cut into
// messages and written as commented hex files (format: test/fixtures/README.md).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, run, sleep, waitFor } from './lab/lab.js';
import { startBird, birdc, birdReconfigure, waitBirdEstablished, birdRoutes, type BirdConfig } from './lab/bird.js';
import { startFrr, frrConfigure, waitFrrEstablished, frrRoutes, frrNeighbor, type FrrConfig } from './lab/frr.js';
import { splitBgp, type TcpStream } from './lab/pcap.js';
import { startCapture } from './lab/capture.js';
import { classify, sessionContext, describe, richness } from './lab/bgpsplit.js';

const OUT = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'test', 'fixtures'));
const MARK = 'capture-fixtures';

interface Session {
  tag: 'as4' | 'as2';
  prefix: { bird: string; frr: string };
  description: string;
  addrs: Record<string, 'bird' | 'frr'>;
  streams: TcpStream[];
}

async function hasBirdRoute(lab: Lab, host: string, prefix: string): Promise<boolean> {
  return (await birdRoutes(lab, host, { proto: 'frr' })).some((r) => r.prefix === prefix);
}
async function hasFrrRoute(lab: Lab, host: string, prefix: string): Promise<boolean> {
  return (await frrRoutes(lab, host, prefix.includes(':') ? 'ipv6' : 'ipv4')).some(
    (r) => r.prefix === prefix && r.peerId !== '(unspec)' && r.asPath.length > 0,
  );
}

async function sessionAs4(lab: Lab): Promise<Session> {
  const [b, f] = [await lab.addHost('tcfx-bird'), await lab.addHost('tcfx-frr')];
  const { ifA } = await lab.link(b, f, { v4: '198.18.0.1/24', v4b: '198.18.0.2/24', v6: '2001:db8::1/64', v6b: '2001:db8::2/64' });
  const cap = await startCapture(lab, b, ifA);
  const static4 = [
    {
      prefix: '10.244.1.0/26',
      attrs: [
        'bgp_community.add((65000,100));',
        'bgp_community.add((65000,101));',
        'bgp_large_community.add((4200000001,1,2));',
        'bgp_ext_community.add((rt,65000,42));',
      ],
    },
    { prefix: '10.244.1.64/26' },
    { prefix: '198.19.0.0/24', attrs: ['bgp_path.prepend(65010);'] },
  ];
  const static6 = [
    { prefix: '2001:db8:100::/48', attrs: ['bgp_community.add((65000,200));', 'bgp_large_community.add((4200000001,6,6));'] },
    { prefix: '2001:db8:101::/48' },
  ];
  const birdCfg = (s4: typeof static4, s6: typeof static6): BirdConfig => ({
    routerId: '198.18.0.1',
    static4: s4,
    static6: s6,
    neighbors: [
      {
        name: 'frr',
        localAddr: '198.18.0.1',
        localAs: 4200000001,
        neighborAddr: '198.18.0.2',
        neighborAs: 4200000002,
        gracefulRestart: true,
        extendedMessages: true,
        ipv4: { addPaths: 'on', export: 'if net = 10.244.1.0/26 then bgp_med = 50; accept;' },
        ipv6: { addPaths: 'on', nextHopAddress: '2001:db8::1' },
      },
    ],
  });
  const frrCfg: FrrConfig = {
    asn: 4200000002,
    routerId: '198.18.0.2',
    gracefulRestart: true,
    routeMaps: [
      'route-map FRR-ATTRS permit 10',
      ' set metric 77',
      ' set community 65000:300 65000:301',
      ' set large-community 4200000002:3:4',
      ' set extcommunity rt 65000:43',
      ' set as-path prepend 65020',
    ].join('\n'),
    networks4: [{ prefix: '10.244.2.0/26', routeMap: 'FRR-ATTRS' }, '10.244.2.64/26'],
    networks6: [{ prefix: '2001:db8:200::/48', routeMap: 'FRR-ATTRS' }, '2001:db8:201::/48'],
    neighbors: [{ addr: '198.18.0.1', remoteAs: 4200000001, ipv4: { addpathTxAll: true }, ipv6: { addpathTxAll: true, ipv6NextHop: '2001:db8::2' } }],
  };
  await startFrr(lab, f, frrCfg);
  await startBird(lab, b, birdCfg(static4, static6));
  await waitBirdEstablished(lab, b, 'frr');
  await waitFrrEstablished(lab, f, '198.18.0.1');
  await waitFor(
    'routes exchanged (as4)',
    15_000,
    async () =>
      (await hasBirdRoute(lab, b, '10.244.2.0/26')) &&
      (await hasBirdRoute(lab, b, '2001:db8:200::/48')) &&
      (await hasFrrRoute(lab, f, '10.244.1.0/26')) &&
      (await hasFrrRoute(lab, f, '2001:db8:100::/48')),
  );
  await sleep(1500); // a few keepalives both ways

  // RFC 2918 / RFC 7313: BIRD asks for a refresh, FRR answers (BoRR, routes, EoRR), and back.
  await birdc(lab, b, 'reload in frr');
  await sleep(1000);
  await run('vtysh', ['--vty_socket', lab.file(`frr-${f}`), '-c', 'clear bgp ipv4 unicast 198.18.0.1 soft in']);
  await run('vtysh', ['--vty_socket', lab.file(`frr-${f}`), '-c', 'clear bgp ipv6 unicast 198.18.0.1 soft in']);
  await sleep(1000);

  // Withdrawals from both sides: IPv4 in the UPDATE's Withdrawn Routes, IPv6 in MP_UNREACH_NLRI.
  await birdReconfigure(lab, b, birdCfg(static4.slice(0, 1).concat(static4.slice(2)), static6.slice(0, 1)));
  await frrConfigure(
    lab,
    f,
    'router bgp 4200000002',
    'address-family ipv4 unicast',
    'no network 10.244.2.64/26',
    'exit-address-family',
    'address-family ipv6 unicast',
    'no network 2001:db8:201::/48',
  );
  await waitFor(
    'withdrawals (as4)',
    15_000,
    async () =>
      !(await hasBirdRoute(lab, b, '10.244.2.64/26')) && !(await hasFrrRoute(lab, f, '10.244.1.64/26')) && !(await hasFrrRoute(lab, f, '2001:db8:101::/48')),
  );
  await sleep(500);

  // RFC 8203 / RFC 9003: Cease (administrative shutdown) with a shutdown communication, from BIRD.
  await birdc(lab, b, 'disable frr "maintenance"');
  await waitFor('FRR sees the Cease', 10_000, async () => (await frrNeighbor(lab, f, '198.18.0.1')).bgpState !== 'Established');
  await birdc(lab, b, 'enable frr');
  await waitBirdEstablished(lab, b, 'frr');
  await waitFrrEstablished(lab, f, '198.18.0.1');
  await sleep(1500);
  // ... and from FRR.
  await frrConfigure(lab, f, 'router bgp 4200000002', 'neighbor 198.18.0.1 shutdown message maintenance');
  await waitFor('BIRD sees the Cease', 10_000, async () => !(await birdc(lab, b, 'show protocols frr')).includes('Established'));
  await sleep(500);
  const streams = await cap.stop();
  return {
    tag: 'as4',
    prefix: { bird: 'bird-', frr: 'frr-' },
    description:
      'eBGP AS 4200000001 (BIRD) <-> AS 4200000002 (FRR), IPv4 transport, IPv4+IPv6 unicast, graceful restart, add-path, extended message, route refresh',
    addrs: { '198.18.0.1': 'bird', '198.18.0.2': 'frr' },
    streams,
  };
}

async function sessionAs2(lab: Lab): Promise<Session> {
  const [b, f] = [await lab.addHost('tcfx2-bird'), await lab.addHost('tcfx2-frr')];
  const { ifA } = await lab.link(b, f, { v4: '198.18.2.1/24', v4b: '198.18.2.2/24', v6: '2001:db8:2::1/64', v6b: '2001:db8:2::2/64' });
  const cap = await startCapture(lab, b, ifA);
  await startFrr(lab, f, {
    asn: 65002,
    routerId: '198.18.2.2',
    routeMaps: ['route-map AS2-ATTRS permit 10', ' set as-path prepend 65030 4200000003', ' set community 65000:400'].join('\n'),
    networks4: [{ prefix: '10.244.4.0/26', routeMap: 'AS2-ATTRS' }],
    networks6: ['2001:db8:400::/48'],
    neighbors: [{ addr: '198.18.2.1', remoteAs: 65001, ipv6: { ipv6NextHop: '2001:db8:2::2' } }],
  });
  await startBird(lab, b, {
    routerId: '198.18.2.1',
    static4: [{ prefix: '10.244.3.0/26', attrs: ['bgp_path.prepend(65040);', 'bgp_community.add((65001,3));'] }],
    static6: [{ prefix: '2001:db8:300::/48' }],
    neighbors: [
      // BIRD with as4 off cannot name a 4-octet neighbor AS (and still reads the peer's AS4
      // capability), so FRR sits in a 2-octet AS; its route-map prepends a 4-octet AS, which an
      // OLD session must carry as AS_TRANS in AS_PATH plus AS4_PATH (RFC 6793 §4.2.2).
      {
        name: 'frr',
        localAddr: '198.18.2.1',
        localAs: 65001,
        neighborAddr: '198.18.2.2',
        neighborAs: 65002,
        as4: false,
        ipv4: {},
        ipv6: { nextHopAddress: '2001:db8:2::1' },
      },
    ],
  });
  await waitBirdEstablished(lab, b, 'frr');
  await waitFor(
    'routes exchanged (as2)',
    15_000,
    async () =>
      (await hasBirdRoute(lab, b, '10.244.4.0/26')) &&
      (await hasBirdRoute(lab, b, '2001:db8:400::/48')) &&
      (await hasFrrRoute(lab, f, '10.244.3.0/26')) &&
      (await hasFrrRoute(lab, f, '2001:db8:300::/48')),
  );
  await sleep(1500);
  const streams = await cap.stop();
  return {
    tag: 'as2',
    prefix: { bird: 'bird-as2-', frr: 'frr-as2-' },
    description:
      'eBGP AS 65001 (BIRD, as4 off: an RFC 6793 OLD speaker) <-> AS 65002 (FRR, NEW speaker), IPv4 transport, IPv4+IPv6 unicast, no add-path, no graceful restart',
    addrs: { '198.18.2.1': 'bird', '198.18.2.2': 'frr' },
    streams,
  };
}

function hex(msg: Buffer): string {
  const h = msg.toString('hex');
  const lines: string[] = [];
  for (let i = 0; i < h.length; i += 64) lines.push(h.slice(i, i + 64).replace(/(.{2})(?!$)/g, '$1 '));
  return lines.join('\n');
}

function writeFixtures(s: Session, versions: Record<'bird' | 'frr', string>, when: string): string[] {
  const streams = s.streams.filter((x) => x.data.length > 0);
  const written: string[] = [];
  const seen = new Set<string>();
  const byCat = new Map<string, { m: Buffer; lines: string[] }[]>();
  // The main connection per direction: the one that carried the most bytes.
  const main = new Map<string, TcpStream>();
  for (const st of streams) {
    const who = s.addrs[st.src];
    if (!who) continue;
    if (!main.has(who) || main.get(who)!.data.length < st.data.length) main.set(who, st);
  }
  for (const st of streams.sort((x, y) => x.firstUs - y.firstUs)) {
    const who = s.addrs[st.src];
    const peer = s.addrs[st.dst];
    if (!who || !peer) continue;
    const reverse = streams.find((r) => r.src === st.dst && r.sport === st.dport && r.dst === st.src && r.dport === st.sport);
    const { messages } = splitBgp(st.data);
    const ctx = sessionContext(messages, reverse ? splitBgp(reverse.data).messages : []);
    const header = (what: string): string[] => [
      `# ${MARK}: ${what}`,
      `# sent by ${versions[who]} to ${versions[peer]}, ${st.src}:${st.sport} -> ${st.dst}:${st.dport}`,
      `# captured ${when} with tcpdump -w on the veth between two network namespaces; TCP reassembled and cut at BGP header lengths by conformance/capture-fixtures.ts`,
      `# session: ${s.description}`,
      `# context: ${ctx}`,
    ];
    if (main.get(who) === st) {
      const name = `${s.prefix[who]}stream.hex`;
      fs.writeFileSync(
        path.join(OUT, name),
        [
          ...header(`the whole ${who} -> ${peer} byte stream of the main connection, ${messages.length} messages`),
          ...messages.map((m, i) => `# [${i}] ${describe(m)}\n${hex(m)}`),
        ].join('\n') + '\n',
      );
      written.push(name);
    }
    messages.forEach((m, i) => {
      const key = who + m.toString('hex');
      if (seen.has(key)) return;
      seen.add(key);
      const cat = `${s.prefix[who]}${classify(m)}`;
      const list = byCat.get(cat) ?? [];
      list.push({ m, lines: [...header(`${describe(m)}; message ${i} of its stream`), hex(m)] });
      byCat.set(cat, list);
    });
  }
  // Up to three distinct messages per category; the un-numbered file holds the one with the
  // most attributes (then the longest), so e.g. bird-update-ipv4.hex is the richest UPDATE.
  for (const [cat, list] of byCat) {
    list.sort((x, y) => richness(y.m) - richness(x.m) || y.m.length - x.m.length);
    list.slice(0, 3).forEach((e, n) => {
      const name = `${cat}${n > 0 ? `-${n + 1}` : ''}.hex`;
      fs.writeFileSync(path.join(OUT, name), e.lines.join('\n') + '\n');
      written.push(name);
    });
  }
  return written;
}

async function version(cmd: string, args: string[], re: RegExp, name: string): Promise<string> {
  const r = await run(cmd, args);
  return `${name} ${re.exec(r.stdout + r.stderr)?.[1] ?? '?'}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('capture-fixtures must run as root (network namespaces, tcpdump)');
  fs.mkdirSync(OUT, { recursive: true });
  const versions = {
    bird: await version('/usr/sbin/bird', ['--version'], /version (\S+)/, 'BIRD'),
    frr: await version('/usr/lib/frr/bgpd', ['--version'], /version (\S+)/, 'FRR bgpd'),
  };
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const lab = await Lab.create('tcfx');
  const sessions: Session[] = [];
  try {
    sessions.push(await sessionAs4(lab));
    sessions.push(await sessionAs2(lab));
    for (const f of fs.readdirSync(OUT)) {
      const p = path.join(OUT, f);
      if (/^(bird|frr)-.*\.hex$/.test(f) && fs.readFileSync(p, 'utf8').startsWith(`# ${MARK}`)) fs.unlinkSync(p);
    }
    const written = sessions.flatMap((s) => writeFixtures(s, versions, when));
    console.log(`wrote ${written.length} fixtures to ${OUT}:\n  ${written.sort().join('\n  ')}`);
  } finally {
    await lab.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
