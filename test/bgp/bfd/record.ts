// Maintenance tool, not a test: prints a BFD fixture with each event's actual actions filled in,
// for a human to check against RFC 5880 §6.8 before saving. node dist/test/bgp/bfd/record.js F
import { loadFixture, runCase } from './replay.js';

for (const file of process.argv.slice(2)) {
  for (const c of loadFixture(file)) {
    const rec: string[] = [];
    runCase(c, file, rec);
    console.log(`## ${c.name}`);
    console.log(
      `! tx=${c.timers.minTxMs} rx=${c.timers.minRxMs} mult=${c.timers.multiplier}${c.auth ? ` auth=${c.auth.type === 5 ? 'meticulous' : 'keyed'}` : ''}`,
    );
    console.log(rec.join('\n'));
  }
}
