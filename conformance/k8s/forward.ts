// A TCP -> Unix socket forwarder, run inside a lab namespace: ternd processes in other
// namespaces reach the kube-apiserver stand-in (which runs in the test process, on the host)
// at a lab address, e.g. 198.18.10.1:6443, through the stand-in's Unix socket: namespaces share
// the file system, not the network. `node forward.js <address:port> <socket path>`.
// When the stand-in stops, connections through here are cut and new ones are reset: what a
// client sees of an API server that went away.
import * as net from 'node:net';

const [listen, socketPath] = process.argv.slice(2);
const i = listen?.lastIndexOf(':') ?? -1;
if (!socketPath || i < 0) {
  console.error('usage: forward <address:port> <unix socket path>');
  process.exit(2);
}
const server = net.createServer((client) => {
  const upstream = net.createConnection(socketPath);
  client.pipe(upstream).pipe(client);
  const cut = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', cut);
  upstream.on('error', cut);
  client.on('close', cut);
  upstream.on('close', cut);
});
server.listen(Number(listen.slice(i + 1)), listen.slice(0, i), () => console.log(`forwarding ${listen} -> ${socketPath}`));
