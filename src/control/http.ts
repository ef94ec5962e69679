// Kubernetes probes and Prometheus metrics over HTTP, on a loopback address by default
// (127.0.0.1:9179): /livez, /readyz (200 or 503 with a short JSON body of reasons), /metrics.
// The verdicts come from DaemonApi.health(); this file only serves them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DaemonApi, HealthView } from './api.js';
import { Metrics } from './metrics.js';
import type { ControlLog } from './server.js';

export const DEFAULT_PROBE_HOST = '127.0.0.1';
export const DEFAULT_PROBE_PORT = 9179;

export interface ProbeOptions {
  host?: string;
  /** 0 picks an ephemeral port (tests); the bound port is returned. */
  port?: number;
  /** The registry the daemon updates; a fresh one is made when omitted. */
  metrics?: Metrics;
}

export interface HttpProbes {
  readonly host: string;
  readonly port: number;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

/** Parses '127.0.0.1:9179', '[::1]:9179' or ':9179' (all addresses) into host and port. */
export function parseListenAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`bad listen address '${s}': expected host:port, [v6]:port or :port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function healthOrFailure(api: DaemonApi): HealthView {
  try {
    return api.health();
  } catch (e) {
    // A daemon that cannot say how it is doing is not live.
    const reason = `health check failed: ${(e as Error).message}`;
    return { live: false, ready: false, reasons: [reason], configLoaded: false, listening: false, sessions: { planned: 0, established: 0, withinGrace: 0 } };
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

export async function startHttpProbes(api: DaemonApi, opts: ProbeOptions, log: ControlLog): Promise<HttpProbes> {
  const metrics = opts.metrics ?? new Metrics();
  metrics.bind(api);
  const json = 'application/json; charset=utf-8';
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return reply(res, 405, 'text/plain', 'method not allowed\n', head);
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/livez': {
        const h = healthOrFailure(api);
        const body = { live: h.live, reasons: h.live ? [] : h.reasons };
        return reply(res, h.live ? 200 : 503, json, JSON.stringify(body) + '\n', head);
      }
      case '/readyz': {
        const h = healthOrFailure(api);
        const body = { ready: h.ready, reasons: h.reasons, sessions: h.sessions };
        return reply(res, h.ready ? 200 : 503, json, JSON.stringify(body) + '\n', head);
      }
      case '/metrics': {
        const text = await metrics.registry.metrics();
        return reply(res, 200, metrics.registry.contentType, text, head);
      }
      default:
        return reply(res, 404, 'text/plain', 'not found; try /livez, /readyz or /metrics\n', head);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'probe request failed');
      if (!res.headersSent) reply(res, 500, 'text/plain', 'internal error\n', false);
      else res.destroy();
    });
  });
  const host = opts.host ?? DEFAULT_PROBE_HOST;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_PROBE_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host, port }, 'probes and metrics listening');
  return {
    host,
    port,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
