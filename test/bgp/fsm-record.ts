// Maintenance tool, not a test: prints a fixture with each event's actual actions filled in,
// for a human to review against RFC 4271 §8.2.2 before saving. node dist/test/bgp/fsm-record.js F
import { loadFixture, runCase } from './fsm-replay.js';

for (const file of process.argv.slice(2)) {
  for (const c of loadFixture(file)) {
    const rec: string[] = [];
    runCase(c, file, rec);
    console.log(`## ${c.name}`);
    const flat = (o: object, pre: string): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        Array.isArray(v) ? [`${pre}${k}=${v.join(',')}`] : typeof v === 'object' ? flat(v as object, `${pre}${k}.`) : [`${pre}${k}=${String(v)}`],
      );
    for (const kv of flat(c.cfg, '')) console.log(`! ${kv}`);
    console.log(rec.join('\n'));
  }
}
