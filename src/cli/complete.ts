// Shell completion that knows the running daemon: `bgpctl show neighbor <TAB>` and
// `bgpctl neighbor <TAB>` offer the addresses of the current peers (as birdc completes
// protocol names). Everything else is yargs' own completion of commands and options.
// This runs before yargs parses anything: yargs' completion is synchronous, and asking ternd
// is not.
import type { PeerView } from '../control/api.js';
import { ControlClient } from '../control/client.js';
import { checkSocketOwner, clientSocketPath } from '../paths.js';

export const COMPLETION_FLAG = '--get-yargs-completions';

/**
 * The words after the completion flag, without the program name and -s/--socket; the last one
 * is being completed. The scripts yargs generates pass the whole command line, program name
 * first (bash: "${COMP_WORDS[@]}", zsh: "${words[@]}"); issue 17 was reading that name as the
 * first word, so `bgpctl show neighbor <TAB>` never offered an address.
 */
export function completionWords(argv: string[]): { words: string[]; socket?: string } {
  const i = argv.indexOf(COMPLETION_FLAG);
  const rest = i < 0 ? [] : argv.slice(i + 2);
  const words: string[] = [];
  let socket: string | undefined;
  for (let k = 0; k < rest.length; k++) {
    const w = rest[k];
    if ((w === '-s' || w === '--socket') && k + 1 < rest.length - 1) socket = rest[++k];
    else if (w.startsWith('--socket=')) socket = w.slice('--socket='.length);
    else if (!w.startsWith('-') || k === rest.length - 1) words.push(w);
  }
  return { words, socket };
}

/** True when the word being completed (the last of `words`) is a neighbor address. */
export function wantsNeighbor(words: string[]): boolean {
  const before = words.slice(0, -1);
  if (before.length === 2 && before[0] === 'show' && (before[1] === 'neighbor' || before[1] === 'nei')) return true;
  return before.length === 1 && before[0] === 'neighbor';
}

/**
 * Prints peer addresses matching the current word and returns true when this is a neighbor
 * completion; returns false to let yargs complete. Never prints an error: a shell is listening.
 */
export async function completeNeighbor(argv: string[]): Promise<boolean> {
  const { words, socket } = completionWords(argv);
  if (!wantsNeighbor(words)) return false;
  const current = words[words.length - 1] ?? '';
  try {
    const path = clientSocketPath(socket);
    checkSocketOwner(path);
    const c = await ControlClient.connect(path, { timeoutMs: 1000, idleTimeoutMs: 2000 });
    try {
      const peers = await c.request<PeerView[]>('show.peers');
      const hits = peers.map((p) => p.address).filter((a) => a.startsWith(current));
      if (hits.length) process.stdout.write(hits.join('\n') + '\n');
    } finally {
      c.close();
    }
  } catch {
    // ternd not running: no suggestions.
  }
  return true;
}
