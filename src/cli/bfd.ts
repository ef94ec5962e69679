// bgpctl show bfd: BFD sessions (RFC 5880) as the worker thread sees them, text or -j.
import type { CommandModule } from 'yargs';
import type { BfdSessionView } from '../control/api.js';
import { printJson, run, type GlobalArgs } from './common.js';
import { cell, paint, table, type TextOptions } from './table.js';

const STATE_COLOR = { Up: 'green', Init: 'yellow', Down: 'red', AdminDown: 'dim' } as const;

/** One line per session, then a note per session that went down or whose timers ran late. */
export function formatBfd(rows: BfdSessionView[], o: TextOptions): string[] {
  if (rows.length === 0) return ['no BFD sessions (spec.bfd on a BGPPeer, spec.nodeMeshBFD for the mesh)'];
  const body = rows.map((r) => [
    cell(r.peerAddress),
    cell(r.multihop ? 'multi' : 'single'),
    cell(r.state, { color: STATE_COLOR[r.state as keyof typeof STATE_COLOR] }),
    cell(r.remoteState),
    cell(`${r.txIntervalMs}ms`),
    cell(r.detectionTimeMs ? `${r.detectionTimeMs}ms` : '-'),
    cell(`${r.configured.minTxMs}/${r.configured.minRxMs}x${r.configured.multiplier}`),
    cell(r.localDiag),
  ]);
  const out = table(o, [cell('Peer'), cell('Hop'), cell('State'), cell('Remote'), cell('TX'), cell('Detect'), cell('Config'), cell('Diag')], body);
  for (const r of rows) {
    const notes = [
      r.lastDown && `last down ${r.lastDown.at} (${r.lastDown.diag})`,
      r.packets.ttlDropped > 0 && `${r.packets.ttlDropped} packets dropped for TTL != 255 (RFC 5881 §5)`,
      r.txLate.over50ms > 0 && `transmit timer ran > 50 ms late ${r.txLate.over50ms} times (worst ${r.txLate.maxMs} ms)`,
    ].filter((x): x is string => typeof x === 'string');
    if (notes.length) out.push(`${paint(o, 'bold', r.peerAddress)}: ${notes.join('; ')}`);
  }
  return out;
}

export const bfdShow: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'bfd',
  describe: 'BFD sessions: state, negotiated intervals, detection time (RFC 5880)',
  handler: (args) =>
    run(
      args,
      () => {},
      async (ctx) => {
        const data = await ctx.client.request<BfdSessionView[]>('show.bfd');
        if (ctx.args.json) return printJson(ctx, data);
        await ctx.print(formatBfd(data, ctx.text));
      },
    ),
};
