/** The worker side of load.ts: for each file asked, read it (size checked first), parse it, post the model. */
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../types.js';
import { parseModel } from './parse.js';
import { dehydrate, type LoadLimits, type LoadReply } from './load.js';
import { BlockPacker } from './block-transfer.js';

const { limits } = workerData as { limits: LoadLimits };

function run(file: string): LoadReply {
  let size: number | undefined;
  try {
    size = statSync(file).size;
    if (size > limits.maxTextBytes) {
      return { ok: false, issues: [{ severity: 'error', file, line: 0, message: `${size} bytes: more than the limit of ${limits.maxTextBytes} bytes` }] };
    }
    const t0 = performance.now();
    const progress = (text: string) => parentPort!.postMessage({ progress: `${file}: ${text} (${Math.round(performance.now() - t0)} ms)` } satisfies LoadReply);
    progress(`reading ${(size / 1048576).toFixed(1)} MB`);
    // Blocks are packed as they are decoded (block-transfer.ts), never held as objects here.
    const packer = new BlockPacker();
    const { model, warnings } = parseModel(readFileSync(file, 'utf8'), file, limits, progress, (b) => packer.add(b));
    progress('model validated');
    return { ok: true, ...dehydrate(model, packer.finish()), warnings, bytes: size };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, issues: err.issues, bytes: size };
    return { ok: false, message: (err as Error).message, bytes: size };
  }
}

parentPort!.on('message', (m: { file: string }) => {
  const reply = run(m.file);
  // The packed blocks' buffer moves to the main thread rather than being copied.
  parentPort!.postMessage(reply, 'ok' in reply && reply.ok ? [reply.blocks.words.buffer as ArrayBuffer] : []);
});
