// Capture real BFD Control packets (RFC 5880 §4.1) for the BFD codec's tests.
// Run as root: `npm run build && node dist/conformance/capture-bfd-fixtures.js [outdir]`.
// Two sessions in network namespaces, each recorded with `tcpdump -x` on the veth:
//   plain: BIRD 2 `protocol bfd` <-> FRR bfdd, single-hop, 100 ms x 3 (the handshake, both
//          Poll Sequences to 100 ms, steady Up);
//   auth:  BIRD <-> BIRD with Meticulous Keyed SHA1, key "tern-bfd" id 5 (RFC 5880 §6.7.4),
//          so Tern's digest check is tested against another implementation's signing.
// Each distinct kind of packet (sender, state, P/F, auth) is written once, as commented hex of
// the UDP payload, to test/bgp/fixtures/bfd-wire/ (read by test/bgp/bfd/packet.test.ts).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, onLines, sleep } from './lab/lab.js';
import { startBird } from './lab/bird.js';
import { startFrr } from './lab/frr.js';

const OUT = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'test', 'bgp', 'fixtures', 'bfd-wire'));
const STATES = ['AdminDown', 'Down', 'Init', 'Up'];

interface Packet {
  src: string;
  dst: string;
  bytes: Buffer;
}

/** tcpdump -x text: a header line per packet, then `0x0000:  4500 ...` lines of the IP packet. */
function capture(lab: Lab, host: string, iface: string): { stop(): Promise<Packet[]> } {
  const child = lab.spawn(host, 'tcpdump', ['-i', iface, '-n', '-l', '-x', 'udp port 3784']);
  const out: Packet[] = [];
  let cur: { src: string; dst: string; hex: string } | undefined;
  const flush = (): void => {
    if (!cur) return;
    const ip = Buffer.from(cur.hex, 'hex');
    const ihl = (ip[0] & 0x0f) * 4;
    out.push({ src: cur.src, dst: cur.dst, bytes: ip.subarray(ihl + 8) });
    cur = undefined;
  };
  onLines(child.stdout, (line) => {
    const h = /IP (\d+\.\d+\.\d+\.\d+)\.\d+ > (\d+\.\d+\.\d+\.\d+)\.3784: /.exec(line);
    if (h) {
      flush();
      cur = { src: h[1], dst: h[2], hex: '' };
      return;
    }
    const x = /^\s+0x[0-9a-f]+:\s+(.*)$/.exec(line);
    if (x && cur) cur.hex += x[1].replace(/\s+/g, '');
  });
  return {
    async stop() {
      await sleep(300);
      await lab.stop(child.pid!, 500);
      flush();
      return out;
    },
  };
}

function kind(b: Buffer): string {
  const st = STATES[b[1] >> 6];
  const flags = `${b[1] & 0x20 ? '-poll' : ''}${b[1] & 0x10 ? '-final' : ''}${b[1] & 0x04 ? '-auth' : ''}`;
  return `${st.toLowerCase()}${flags}`;
}

function write(tag: string, who: Record<string, string>, pkts: Packet[], session: string): number {
  const seen = new Set<string>();
  let n = 0;
  for (const p of pkts) {
    const sender = who[p.src];
    if (!sender) continue;
    const name = `${tag}-${sender.split(' ')[0].toLowerCase()}-${kind(p.bytes)}`;
    if (seen.has(name)) continue;
    seen.add(name);
    const lines = [
      `# capture-bfd-fixtures: ${kind(p.bytes)}, ${p.bytes.length} bytes`,
      `# sent by ${sender} to ${who[p.dst] ?? p.dst}, ${p.src} -> ${p.dst}:3784`,
      `# captured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} with tcpdump -x on the veth between two network namespaces (conformance/capture-bfd-fixtures.ts)`,
      `# session: ${session}`,
      p.bytes
        .toString('hex')
        .replace(/(.{8})/g, '$1 ')
        .trim(),
    ];
    fs.writeFileSync(path.join(OUT, `${name}.hex`), lines.join('\n') + '\n');
    n++;
  }
  return n;
}

const BFD_100 = 'min rx interval 100 ms; min tx interval 100 ms; multiplier 3;';

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  for (const f of fs.readdirSync(OUT))
    if (f.endsWith('.hex') && fs.readFileSync(path.join(OUT, f), 'utf8').startsWith('# capture-bfd-fixtures')) fs.rmSync(path.join(OUT, f));
  const lab = await Lab.create('i20c');
  try {
    // plain: BIRD <-> FRR bfdd
    const [b1, f1] = [await lab.addHost('i20c-bird'), await lab.addHost('i20c-frr')];
    const { ifA } = await lab.link(b1, f1, { v4: '198.18.98.1/24', v4b: '198.18.98.2/24' });
    const cap = capture(lab, b1, ifA);
    await sleep(300);
    await startBird(lab, b1, { routerId: '198.18.98.1', neighbors: [], extra: `protocol bfd { interface "*" { ${BFD_100} }; neighbor 198.18.98.2; }` });
    await startFrr(
      lab,
      f1,
      { asn: 65098, routerId: '198.18.98.2', neighbors: [] },
      {
        bfdd: ['bfd', ' peer 198.18.98.1', '  receive-interval 100', '  transmit-interval 100', '  detect-multiplier 3', ' !', '!'].join('\n'),
      },
    );
    await sleep(4000);
    const plain = await cap.stop();
    const n1 = write(
      'plain',
      { '198.18.98.1': 'BIRD 2.0.12', '198.18.98.2': 'FRR bfdd 8.4.4' },
      plain,
      'single-hop, BIRD protocol bfd neighbor <-> FRR bfdd peer, 100 ms x 3, no authentication',
    );

    // auth: BIRD <-> BIRD, Meticulous Keyed SHA1
    const [b2, b3] = [await lab.addHost('i20c-b2'), await lab.addHost('i20c-b3')];
    const link2 = await lab.link(b2, b3, { v4: '198.18.99.1/24', v4b: '198.18.99.2/24' });
    const cap2 = capture(lab, b2, link2.ifA);
    await sleep(300);
    const auth = `${BFD_100} authentication meticulous keyed sha1; password "tern-bfd" { id 5; };`;
    await startBird(lab, b2, { routerId: '198.18.99.1', neighbors: [], extra: `protocol bfd { interface "*" { ${auth} }; neighbor 198.18.99.2; }` });
    await startBird(lab, b3, { routerId: '198.18.99.2', neighbors: [], extra: `protocol bfd { interface "*" { ${auth} }; neighbor 198.18.99.1; }` });
    await sleep(4000);
    const signed = await cap2.stop();
    const n2 = write(
      'sha1',
      { '198.18.99.1': 'BIRD 2.0.12 (a)', '198.18.99.2': 'BIRD 2.0.12 (b)' },
      signed,
      'single-hop, BIRD <-> BIRD, 100 ms x 3, Meticulous Keyed SHA1 (type 5), Key ID 5, key "tern-bfd"',
    );
    console.log(`capture-bfd-fixtures: ${n1} plain and ${n2} signed packets written to ${OUT}`);
  } finally {
    await lab.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
