// Benchmark dispatcher: `npm run bench -- <name> [args]` = `node dist/bench/run.js <name> [args]`.
// Each bench module exports `main(argv): Promise<number>` (the exit code) and is loaded lazily,
// so one bench's imports never slow down or break another.

type BenchMain = (argv: string[]) => Promise<number>;

const BENCHES: Record<string, () => Promise<BenchMain>> = {
  ingest: async () => (await import('./ingest/main.js')).main,
  codec: async () => (await import('./codec.js')).main,
  peers: async () => (await import('./peers.js')).main,
  sessions: async () => (await import('./sessions.js')).main,
  fib: async () => (await import('./fib.js')).main,
  propagation: async () => (await import('./propagation.js')).main,
  'rolling-restart': async () => (await import('./rolling-restart.js')).main,
  'bfd-jitter': async () => (await import('./bfd-jitter.js')).main,
  'etcd-sync': async () => (await import('./etcd-sync.js')).main,
  'k8s-sync': async () => (await import('./k8s-sync.js')).main,
  'config-load': async () => (await import('./config-load.js')).main,
  'control-stream': async () => (await import('./control-stream.js')).main,
  'smart-buffer': async () => (await import('./smart-buffer.js')).main,
  address: async () => (await import('./address.js')).main,
  idle: async () => (await import('./idle.js')).main,
  mesh: async () => (await import('./mesh.js')).main,
  rr: async () => (await import('./rr/main.js')).main,
};

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : BENCHES[name];
  if (!load) {
    console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [args]`);
    return 2;
  }
  return (await load())(rest);
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
