// The route-reflector bench's address plan, shared by the harness, its workers and the configs it
// generates. Everything is on loopback (127/8 is all on `lo`): the reflector on one address,
// each client on its own, so every client has its own 4-tuple and ephemeral ports never run out.
// Blocks: 10.244.0.0/14 holds only 4,096 /26s (1,024 clients of 4 blocks); 5,000 clients need
// 20,000, so the blocks come from 10.64.0.0/10 (65,536 /26s), inside the IPPool 10.0.0.0/8 the
// configs declare. Only ever prefixes inside BGP: nothing is installed anywhere (`--fib none`).

export const RR_ADDRESS = '127.2.0.1';
export const RR_AS = 64512;
export const CLUSTER_ID = '244.0.0.1';
export const DEFAULT_PORT = 11790;
export const BLOCK_LEN = 26;
/** 10.64.0.0 as an unsigned 32-bit integer. */
export const BLOCK_BASE = ((10 << 24) | (64 << 16)) >>> 0;
export const BLOCK_SPAN = 1 << 16; // /26s in the /10
export const POOL_CIDR = '10.0.0.0/8';
export const MAX_CLIENTS = 250 * 250;

/** Client i's session address: 127.3.(i / 250).(i % 250 + 1). */
export function clientAddress(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_CLIENTS) throw new Error(`client index ${i} out of range`);
  return `127.3.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** The same address as an unsigned 32-bit integer (what NEXT_HOP carries). */
export function clientAddressInt(i: number): number {
  return ((127 << 24) | (3 << 16) | (Math.floor(i / 250) << 8) | ((i % 250) + 1)) >>> 0;
}

/** Global block index b = client * blocksPerClient + j; its /26 as an unsigned 32-bit address. */
export function blockAddress(b: number): number {
  if (b < 0 || b >= BLOCK_SPAN) throw new Error(`block ${b} outside 10.64.0.0/10`);
  return (BLOCK_BASE + b * 64) >>> 0;
}

export function blockText(b: number): string {
  const a = blockAddress(b);
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${BLOCK_LEN}`;
}
