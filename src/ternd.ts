#!/usr/bin/env node
// ternd: the Tern BGP daemon for one Kubernetes node. Wiring only: parse flags, build the FIB
// driver, start the Daemon, serve the control socket and probes, handle signals.
import { lazyYargs } from './flags.js';
import { createLogger, isLogLevel, LOG_LEVELS, type LogLevel } from './log.js';
import { daemonSocketPath, resolveGroup } from './paths.js';
import { versionLine } from './build-info.js';
import { Daemon } from './daemon/daemon.js';
import { TerndApi } from './daemon/api.js';
import { startControlServer } from './control/server.js';
import { startHttpProbes, DEFAULT_PROBE_HOST, DEFAULT_PROBE_PORT } from './control/http.js';
import { checkControlSocket, checkKernelFib, checkProbeAddress } from './daemon/preflight.js';
import { Metrics } from './control/metrics.js';
import { ConfigError, fileSecretResolver, formatIssue } from '../peers/index.js';
import type { Fib } from '../fib/types.js';
import { createFib, openLocalAddresses } from './daemon/fib-driver.js';
import { createDatastore } from './daemon/datastore.js';
import type { Datastore } from '../peers/datastore/index.js';

async function main(): Promise<void> {
  // yargs itself is loaded only for --help, --version or a line it must refuse (src/flags.ts).
  const argv = await lazyYargs(process.argv.slice(2))
    .scriptName('ternd')
    .usage(
      '$0 --config FILE | --datastore etcd --etcd-endpoints URL[,URL...] | --datastore kubernetes [options]\n\nThe Tern BGP daemon: peers this node with the cluster and writes pod routes into the kernel.',
    )
    .option('datastore', { choices: ['file', 'etcd', 'kubernetes'] as const, default: 'file' as const, describe: 'where the cluster model comes from' })
    .option('config', {
      alias: 'c',
      type: 'string',
      describe:
        'file datastore: Calico v3 multi-document YAML (BGPConfiguration, Node, BGPPeer, IPPool, IPAM blocks); kubernetes plain mode: resources the cluster lacks (BGPConfiguration, BGPPeer, IPPool)',
    })
    .option('etcd-endpoints', { type: 'string', describe: 'etcd datastore: comma-separated http(s)://host:port (default $ETCD_ENDPOINTS)' })
    .option('etcd-cert', { type: 'string', describe: 'etcd datastore: client certificate (PEM) for mutual TLS' })
    .option('etcd-key', { type: 'string', describe: 'etcd datastore: client key (PEM)' })
    .option('etcd-ca', { type: 'string', describe: "etcd datastore: CA certificate (PEM) that signed the etcd servers' certificates" })
    .option('etcd-username', { type: 'string', describe: 'etcd datastore: user for etcd authentication (default $ETCD_USERNAME)' })
    .option('etcd-password-file', { type: 'string', describe: "etcd datastore: file holding that user's password (default $ETCD_PASSWORD)" })
    .option('kubeconfig', { type: 'string', describe: 'kubernetes datastore: kubeconfig file (default $KUBECONFIG, else the in-cluster service account)' })
    .option('kubernetes-mode', {
      choices: ['calico', 'plain'] as const,
      default: 'calico' as const,
      describe: "kubernetes datastore: Calico's KDD layout (annotations, IPAM CRDs), or Nodes' podCIDRs as blocks",
    })
    .option('secret-namespace', {
      type: 'string',
      describe: 'kubernetes datastore: namespace of BGP password Secrets (default $NAMESPACE, else kube-system, as calico-node)',
    })
    .option('secret-refresh', { type: 'number', default: 10, describe: 'kubernetes datastore: seconds between re-reads of referenced Secrets' })
    .option('node', { alias: 'n', type: 'string', describe: "this node's name in the model (default: $NODENAME, else $NODE_NAME, else the host name)" })
    .option('control-socket', { type: 'string', describe: 'control socket path (default /run/tern/ternd.sock, $TERN_SOCKET overrides)' })
    .option('control-socket-group', {
      type: 'string',
      describe: "group (name or gid) whose members may use the control socket (mode 0660); default ternd's own group",
    })
    .option('fib', { choices: ['kernel', 'none'] as const, default: 'kernel' as const, describe: 'write routes into the kernel, or keep them in the RIB only' })
    .option('table', { type: 'number', default: 254, describe: "kernel routing table for Tern's routes" })
    .option('metric', { type: 'number', describe: "metric (priority) of Tern's kernel routes" })
    .option('tunnel-device', { type: 'string', default: 'tunl0', describe: 'IPIP tunnel device for ipipMode Always/CrossSubnet pools' })
    .option('max-paths', { type: 'number', default: 8, describe: 'ECMP width' })
    .option('fib-sync-timeout', {
      type: 'number',
      default: 60,
      describe: 'seconds to wait for End-of-RIB before reconciling kernel routes left by a previous run',
    })
    .option('llgr-stale-time', {
      type: 'number',
      default: 0,
      describe:
        "RFC 9494 long-lived graceful restart: after a peer's GR restart time, keep its routes (least preferred, not passed on) up to this many seconds if it announced LLGR; 0 = off",
    })
    .option('probes', {
      type: 'string',
      default: `${DEFAULT_PROBE_HOST}:${DEFAULT_PROBE_PORT}`,
      describe: 'address:port for /livez, /readyz and /metrics ("off" disables)',
    })
    .option('ready-grace', { type: 'number', default: 60, describe: 'seconds a planned session may take to reach Established before /readyz fails' })
    .option('connect-retry', { type: 'number', describe: 'seconds between connection attempts (default 5)' })
    .option('log-level', { choices: LOG_LEVELS, describe: "log level (default: the model's logSeverityScreen, else info)" })
    .option('secrets-dir', {
      type: 'string',
      describe: 'mounted Kubernetes Secrets (DIR/<secret>/<key>) for BGPPeer and node-mesh passwords the datastore does not hold',
    })
    .option('secrets-recheck', {
      type: 'number',
      default: 10,
      describe: 'seconds between re-reads of password secrets (a rotated Secret restarts only its sessions); 0 = only on reload',
    })
    .option('ebgp-filter-default', {
      choices: ['calico', 'rfc8212'] as const,
      default: 'calico' as const,
      describe: 'eBGP peer with BGPFilters, route no rule matched: calico accepts/falls back to Calico export rules; rfc8212 drops it (RFC 8212)',
    })
    .option('log-format', {
      choices: ['json', 'text'] as const,
      describe:
        'json: one bunyan JSON object per line (pipe through node_modules/.bin/bunyan to read); text: one readable line per event (default: text on a terminal, else json)',
    })
    .strict()
    .help()
    .version('version', 'print the version, the git commit of the build and the node version', versionLine('ternd'))
    .parseAsync();

  const log = createLogger({ level: argv['log-level'] ?? 'info', pretty: argv['log-format'] === undefined ? undefined : argv['log-format'] === 'text' });
  /** Startup failures: one line saying what and how to fix it, exit 1, never a stack trace. */
  const cannotStart = (component: string, err: unknown): never => {
    const text = err instanceof Error ? err.message : String(err);
    log.fatal({ component }, `cannot start: ${text}`);
    process.exit(1);
  };
  const nodeName = argv.node ?? process.env.NODENAME ?? process.env.NODE_NAME ?? require('node:os').hostname();
  // Every input that can be checked before a session is planned is checked here, first:
  // the control socket's path and group, the probe address, kernel permission, the datastore.
  let socketPath: string;
  let socketGid: number | undefined;
  let probeAddress: { host: string; port: number } | undefined;
  let datastore: Datastore;
  try {
    socketPath = daemonSocketPath(argv['control-socket']);
    socketGid = argv['control-socket-group'] === undefined ? undefined : resolveGroup(argv['control-socket-group']);
    checkKernelFib(argv.fib);
    probeAddress = argv.probes === 'off' ? undefined : await checkProbeAddress(argv.probes);
    await checkControlSocket(socketPath);
    datastore = await createDatastore(argv, { log: (msg, fields) => log.info({ component: 'datastore', ...fields }, msg) });
  } catch (err) {
    return cannotStart('daemon', err);
  }
  let fib: Fib;
  try {
    fib = await createFib(argv.fib, { table: argv.table, metric: argv.metric, tunnelDevice: argv['tunnel-device'], log });
  } catch (err) {
    return cannotStart('fib', new Error(`cannot open the kernel FIB: ${(err as Error).message} (run as root with NET_ADMIN, or use --fib none)`));
  }

  const metrics = new Metrics();
  const daemon = new Daemon({
    metrics,
    datastore,
    nodeName,
    fib,
    fibDriver: argv.fib,
    log,
    tunnelDevice: argv['tunnel-device'],
    maxPaths: argv['max-paths'],
    fibSyncTimeout: argv['fib-sync-timeout'],
    llgrStaleTime: argv['llgr-stale-time'],
    connectRetryTime: argv['connect-retry'],
    resolveSecret: argv['secrets-dir'] ? fileSecretResolver(argv['secrets-dir']) : undefined,
    secretsRecheck: argv['secrets-recheck'],
    ebgpFilterDefault: argv['ebgp-filter-default'],
    logLevelFromFlag: argv['log-level'] !== undefined,
    localAddresses: openLocalAddresses(log),
  });
  try {
    await daemon.start();
  } catch (err) {
    await fib.close().catch(() => undefined);
    if (err instanceof ConfigError) {
      // The warnings too, first: the real cause of a refusal is often one of them (issue 16).
      const warnings = err.issues.filter((x) => x.severity === 'warning');
      for (const i of warnings.slice(0, 20)) log.warn({ component: 'config' }, formatIssue(i));
      if (warnings.length > 20) log.warn({ component: 'config', more: warnings.length - 20 }, `and ${warnings.length - 20} more warnings`);
      const errors = err.issues.filter((x) => x.severity === 'error');
      for (const i of errors.slice(0, 20)) log.fatal({ component: 'config' }, formatIssue(i));
      if (errors.length > 20) log.fatal({ component: 'config', more: errors.length - 20 }, `and ${errors.length - 20} more errors`);
      log.fatal({ component: 'config' }, `refusing to start: ${datastore.status().source} has errors`);
      process.exit(1);
    }
    return cannotStart('daemon', err);
  }

  const api = new TerndApi(daemon.view(), daemon, log, argv['ready-grace'] * 1000);
  // Checked above; a race (something took the path or port since) still ends in one line.
  let control: Awaited<ReturnType<typeof startControlServer>>;
  let probes: Awaited<ReturnType<typeof startHttpProbes>> | undefined;
  try {
    control = await startControlServer(api, socketPath, log.child({ component: 'control' }), { gid: socketGid });
    probes = probeAddress ? await startHttpProbes(api, { ...probeAddress, metrics }, log.child({ component: 'probes' })) : undefined;
  } catch (err) {
    await daemon.stop('ternd could not start').catch(() => undefined);
    return cannotStart('daemon', err);
  }
  log.info(
    { component: 'daemon', socket: socketPath, probes: probes ? `${probes.host}:${probes.port}` : 'off' },
    `control socket ${socketPath}; try: bgpctl${socketPath === '/run/tern/ternd.sock' ? '' : ` -s ${socketPath}`} show peers`,
  );

  process.on('SIGHUP', () => daemon.reload('SIGHUP'));
  // Test hook (conformance/bfd.test.ts): with TERN_TEST_STALL_MS set, SIGUSR2 blocks the main
  // event loop that long, standing in for a huge ingest, to prove BFD (in its worker) does not flap.
  const stallMs = Number(process.env.TERN_TEST_STALL_MS ?? 0);
  if (stallMs > 0) {
    process.on('SIGUSR2', () => {
      log.warn({ component: 'daemon', ms: stallMs }, 'TERN_TEST_STALL_MS: blocking the main event loop on purpose');
      const until = Date.now() + stallMs;
      while (Date.now() < until) {
        /* busy on purpose */
      }
    });
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(
      { component: 'daemon', signal },
      argv.fib === 'kernel' ? `${signal}: stopping; kernel routes stay in place for the next start (graceful restart)` : `${signal}: stopping`,
    );
    await control.close().catch(() => undefined);
    await probes?.close().catch(() => undefined);
    await daemon.stop(`ternd stopping (${signal})`).catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // The process never dies on a bug in one handler: log it loudly and keep the sessions up.
  process.on('uncaughtException', (err) => log.error({ component: 'daemon', err: err.stack ?? String(err) }, `uncaught exception: ${err.message}`));
  process.on('unhandledRejection', (err) => log.error({ component: 'daemon', err: String(err) }, 'unhandled rejection'));
  void isLogLevel;
}

main().catch((err: unknown) => {
  // Nothing may end ternd with a stack trace: say what failed in one line.
  process.stderr.write(`ternd: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
