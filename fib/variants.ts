// Interning of what a prefix wants and what it has, so that per-prefix state is two integers.
// A cluster has few distinct next-hop sets (one per node, a few ECMP combinations), so a
// million routes share a handful of variants. Variants are never freed: their number is bounded
// by the distinct next-hop sets ever seen, which is small.
import type { FibChange, NextHop } from './types.js';

/** A desired route shape: kind + next hops as the caller gave them. */
export class DesiredVariants {
  private readonly bySig = new Map<string, number>();
  private readonly byArray = new WeakMap<NextHop[], number>();
  readonly list: FibChange[] = [];

  private lastArray?: NextHop[];
  private lastId = -1;

  intern(c: FibChange): number {
    if (c.kind !== 'blackhole' && c.metric === undefined) {
      if (c.nexthops === this.lastArray) return this.lastId; // runs of changes share next hops
      const hit = this.byArray.get(c.nexthops);
      if (hit !== undefined) {
        this.lastArray = c.nexthops;
        this.lastId = hit;
        return hit;
      }
    }
    const sig =
      c.kind === 'blackhole'
        ? 'blackhole'
        : c.nexthops.map((h) => `${h.gateway ?? ''},${h.dev ?? ''},${h.onlink ? 1 : 0},${h.weight ?? 1}`).join(';') +
          (c.metric !== undefined ? `|metric ${c.metric}` : '');
    let id = this.bySig.get(sig);
    if (id === undefined) {
      id = this.list.length;
      // Copy: the caller may mutate its objects after apply() returns.
      this.list.push({ prefix: '', kind: c.kind, nexthops: c.nexthops.map((h) => ({ ...h })), ...(c.metric !== undefined ? { metric: c.metric } : {}) });
      this.bySig.set(sig, id);
    }
    if (c.kind !== 'blackhole' && c.metric === undefined) {
      this.byArray.set(c.nexthops, id);
      this.lastArray = c.nexthops;
      this.lastId = id;
    }
    return id;
  }
}

/**
 * What the kernel holds for a prefix: a spec key, the nexthop id the route points at, and its
 * metric when it is not the FIB's own (FibChange.metric).
 */
export interface Installed {
  key: string;
  nhId?: number;
  metric?: number;
}

export class InstalledVariants {
  private readonly byText = new Map<string, number>();
  private readonly list: Installed[] = [];

  intern(key: string, nhId: number | undefined, metric?: number): number {
    const t = `${key}#${nhId ?? ''}#${metric ?? ''}`;
    let i = this.byText.get(t);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(metric === undefined ? { key, nhId } : { key, nhId, metric });
      this.byText.set(t, i);
    }
    return i;
  }

  get(i: number): Installed | undefined {
    return i < 0 ? undefined : this.list[i];
  }
}
