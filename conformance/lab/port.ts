// A free TCP port on 127.0.0.1, for servers a test starts on loopback (a ternd listening for
// BGP or probes, an etcd); inside a lab namespace fixed ports serve.
import * as net from 'node:net';

/** Asks the kernel for a port (listen on 0), closes it and returns the number. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
