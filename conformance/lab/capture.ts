// tcpdump on a lab interface, read back as BGP messages per direction: lets a scenario assert
// what was on the wire (e.g. that a NOTIFICATION 4 was really sent), not only what was logged.

import * as fs from 'node:fs';
import { type Lab, sleep, waitFor } from './lab.js';
import { readPcapTcp, reassemble, splitBgp, type TcpStream } from './pcap.js';

export interface Capture {
  file: string;
  /** Stop tcpdump and return every TCP stream (one per direction per connection). */
  stop(): Promise<TcpStream[]>;
}

/** Start `tcpdump -U -w` on `iface` in `host` and wait until it is listening. */
export async function startCapture(lab: Lab, host: string, iface: string, filter = 'tcp port 179'): Promise<Capture> {
  const file = lab.file(`${host}-${iface}-${Date.now()}.pcap`);
  const log = `${file}.log`;
  const child = lab.spawn(host, 'tcpdump', ['-i', iface, '--immediate-mode', '-U', '-s', '0', '-w', file, filter], { logFile: log });
  await waitFor(`tcpdump listening in ${host}`, 10_000, () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('listening on'));
  return {
    file,
    async stop() {
      // --immediate-mode hands packets over as they arrive; a moment more covers the last ones.
      await sleep(200);
      await lab.stop(child.pid!);
      return reassemble(readPcapTcp(fs.readFileSync(file)));
    },
  };
}

/** Every whole BGP message sent from `src` (address) in the captured streams, in stream order. */
export function bgpMessagesFrom(streams: TcpStream[], src: string): Buffer[] {
  return streams
    .filter((s) => s.src === src)
    .sort((a, b) => a.firstUs - b.firstUs)
    .flatMap((s) => splitBgp(s.data).messages);
}
