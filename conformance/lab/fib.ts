// The kernel routing table inside a lab namespace, read with `ip -j route show`, for FIB
// assertions (what BIRD's kernel protocol, FRR's zebra or ternd installed).

import type { Lab } from './lab.js';

export interface NsRoute {
  family: 'ipv4' | 'ipv6';
  /** Always with a prefix length ('10.244.1.0/26', '198.18.0.1/32', 'default'). */
  dst: string;
  gateway?: string;
  dev?: string;
  /** 'bgp', 'bird', 'kernel', 'static', a number, ... as `ip` names it. */
  protocol?: string;
  type?: string;
  metric?: number;
  /** ECMP legs, when the route has several. */
  nexthops: { gateway?: string; dev?: string }[];
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
  metric?: number;
  nexthops?: { gateway?: string; dev?: string }[];
}

/** Routes in the namespace's main table, optionally only one protocol and/or family. */
export async function routesInNs(lab: Lab, host: string, opts: { proto?: string; family?: 'ipv4' | 'ipv6' } = {}): Promise<NsRoute[]> {
  const out: NsRoute[] = [];
  for (const family of opts.family ? [opts.family] : (['ipv4', 'ipv6'] as const)) {
    const args = ['-j', family === 'ipv4' ? '-4' : '-6', 'route', 'show', 'table', 'main'];
    if (opts.proto) args.push('proto', opts.proto);
    const r = await lab.exec(host, 'ip', args);
    if (r.code !== 0) throw new Error(`ip route show in ${host}: ${r.stderr}`);
    const rows = JSON.parse(r.stdout || '[]') as IpRouteJson[];
    for (const j of rows) {
      const dst = j.dst === 'default' || j.dst.includes('/') ? j.dst : `${j.dst}/${family === 'ipv4' ? 32 : 128}`;
      out.push({
        family,
        dst,
        gateway: j.gateway,
        dev: j.dev,
        protocol: j.protocol,
        type: j.type,
        metric: j.metric,
        nexthops: j.nexthops ?? (j.gateway || j.dev ? [{ gateway: j.gateway, dev: j.dev }] : []),
      });
    }
  }
  return out;
}

export interface TcpConnection {
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
}

/** Established TCP connections in a namespace (`ss -Htn state established`). */
export async function tcpConnections(lab: Lab, host: string): Promise<TcpConnection[]> {
  const r = await lab.exec(host, 'ss', ['-Htn', 'state', 'established']);
  if (r.code !== 0) throw new Error(`ss in ${host}: ${r.stderr}`);
  const split = (ep: string): [string, number] => {
    const i = ep.lastIndexOf(':');
    return [
      ep
        .slice(0, i)
        .replace(/^\[|\]$/g, '')
        .replace(/%.*$/, ''),
      Number(ep.slice(i + 1)),
    ];
  };
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4)
    .map((f) => {
      const [local, localPort] = split(f[2]);
      const [remote, remotePort] = split(f[3]);
      return { local, localPort, remote, remotePort };
    });
}
