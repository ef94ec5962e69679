// Nexthop objects (Linux 5.3+, RTM_NEWNEXTHOP): routes point at a shared next-hop id instead of
// carrying their gateway each. Replacing a million routes to another next hop, or installing
// them, costs the kernel far less that way. This table is pure bookkeeping: which of Tern's
// next-hop ids exist, what they hold, how many routes (or groups) use each, and which to create
// or delete. The netlink FIB turns its answers into messages.
import { formatIp } from '../bgp/codec/address.js';
import { hopKey, makeSpec, type InstallSpec, type ResolvedHop } from './resolve.js';

interface NhEntry {
  id: number;
  key: string;
  refs: number;
  family: 4 | 6;
  hop?: ResolvedHop; // a single next hop...
  members?: { id: number; weight: number }[]; // ...or a group of single ones (ECMP)
  spec?: InstallSpec;
}

export interface NhCreate {
  id: number;
  family: 4 | 6;
  hop?: ResolvedHop;
  group?: { id: number; weight: number }[];
}

const singleKey = (h: ResolvedHop): string => hopKey({ ...h, weight: 1 });

export class NexthopTable {
  private readonly byKey = new Map<string, NhEntry>();
  private readonly byId = new Map<number, NhEntry>();
  /** Spec key -> the object a route with that spec points at: a million routes via one next
   * hop find it with one lookup instead of rebuilding its key each time. */
  private readonly bySpec = new Map<string, NhEntry>();
  /** Ids in use by others (other protocols' nexthop objects): never allocated. */
  private readonly foreign = new Set<number>();
  private next: number;

  constructor(private readonly base: number) {
    this.next = base;
  }

  clear(): void {
    this.bySpec.clear();
    this.byKey.clear();
    this.byId.clear();
    this.foreign.clear();
  }

  reserveForeign(id: number): void {
    this.foreign.add(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Take over a single next hop found in the kernel with Tern's protocol. */
  adoptSingle(id: number, hop: ResolvedHop): void {
    const e: NhEntry = { id, key: singleKey(hop), refs: 0, family: hop.family, hop: { ...hop, weight: 1 } };
    this.byId.set(id, e);
    if (!this.byKey.has(e.key)) this.byKey.set(e.key, e);
  }

  /** Take over a group found in the kernel; call after all its members were adopted. */
  adoptGroup(id: number, members: { id: number; weight: number }[]): boolean {
    const ms = members.map((m) => this.byId.get(m.id));
    if (ms.some((m) => m === undefined || m.hop === undefined)) return false;
    const e: NhEntry = { id, key: groupKey(members.map((m, i) => ({ hop: ms[i]!.hop!, weight: m.weight }))), refs: 0, family: ms[0]!.family, members };
    for (const m of ms) m!.refs++;
    this.byId.set(id, e);
    if (!this.byKey.has(e.key)) this.byKey.set(e.key, e);
    return true;
  }

  /** The spec a route pointing at `id` has (cached: a million dumped routes share a few ids). */
  specOf(id: number): InstallSpec | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    if (!e.spec) {
      const hops = this.hopsOf(id);
      if (!hops) return undefined;
      e.spec = makeSpec('unicast', hops);
    }
    return e.spec;
  }

  /** The hops an id stands for (weights from the group), for comparing dumped routes. */
  hopsOf(id: number): ResolvedHop[] | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    if (e.hop) return [e.hop];
    const out: ResolvedHop[] = [];
    for (const m of e.members ?? []) {
      const h = this.byId.get(m.id)?.hop;
      if (!h) return undefined;
      out.push({ ...h, weight: m.weight });
    }
    return out;
  }

  /** Every object's reference count now, for restoreRefs(). */
  refCounts(): Map<number, number> {
    return new Map([...this.byId].map(([id, e]) => [id, e.refs]));
  }

  /** Put reference counts back as refCounts() saw them (a route dump that restarts after
   * NLM_F_DUMP_INTR must not count the routes it saw before the restart twice). */
  restoreRefs(counts: Map<number, number>): void {
    for (const [id, e] of this.byId) e.refs = counts.get(id) ?? 0;
  }

  /** How many users (routes, and groups it belongs to) the object has. */
  refsOf(id: number): number {
    return this.byId.get(id)?.refs ?? 0;
  }

  ref(id: number): void {
    const e = this.byId.get(id);
    if (e) e.refs++;
  }

  release(id: number): void {
    const e = this.byId.get(id);
    if (e && e.refs > 0) e.refs--;
  }

  /**
   * The id a unicast spec's route should point at, taking a reference; `creates` lists the
   * objects to send RTM_NEWNEXTHOP for first (members before their group).
   */
  /** The id for a spec already known, with a reference taken; -1 when acquire() must create. */
  acquireKnown(spec: InstallSpec): number {
    const known = this.bySpec.get(spec.key);
    if (!known || this.byId.get(known.id) !== known) return -1;
    known.refs++;
    return known.id;
  }

  acquire(spec: InstallSpec): { id: number; creates: NhCreate[] } {
    const known = this.bySpec.get(spec.key);
    if (known && this.byId.get(known.id) === known) {
      known.refs++;
      return { id: known.id, creates: [] };
    }
    const creates: NhCreate[] = [];
    const single = (h: ResolvedHop): NhEntry => {
      const k = singleKey(h);
      let e = this.byKey.get(k);
      if (!e) {
        e = { id: this.alloc(), key: k, refs: 0, family: h.family, hop: { ...h, weight: 1 } };
        this.byKey.set(k, e);
        this.byId.set(e.id, e);
        creates.push({ id: e.id, family: e.family, hop: e.hop });
      }
      return e;
    };
    let top: NhEntry;
    if (spec.hops.length === 1) {
      top = single(spec.hops[0]);
    } else {
      const k = groupKey(spec.hops.map((h) => ({ hop: h, weight: h.weight })));
      const found = this.byKey.get(k);
      if (found) {
        top = found;
      } else {
        const members = spec.hops.map((h) => {
          const m = single(h);
          m.refs++;
          return { id: m.id, weight: h.weight };
        });
        top = { id: this.alloc(), key: k, refs: 0, family: spec.hops[0].family, members };
        this.byKey.set(k, top);
        this.byId.set(top.id, top);
        creates.push({ id: top.id, family: top.family, group: members });
      }
    }
    top.refs++;
    this.bySpec.set(spec.key, top);
    return { id: top.id, creates };
  }

  /** The kernel refused to create `id`: drop it so that the next use creates it afresh. */
  forget(id: number): void {
    const e = this.byId.get(id);
    if (!e) return;
    this.drop(e);
    for (const m of e.members ?? []) this.release(m.id);
  }

  /** Objects nothing uses any more, removed from the table: groups first, then singles. */
  collect(): number[] {
    const out: number[] = [];
    for (const e of [...this.byId.values()].filter((x) => x.members && x.refs === 0)) {
      this.drop(e);
      out.push(e.id);
      for (const m of e.members ?? []) this.release(m.id);
    }
    for (const e of [...this.byId.values()].filter((x) => x.hop && x.refs === 0)) {
      this.drop(e);
      out.push(e.id);
    }
    return out;
  }

  private drop(e: NhEntry): void {
    this.byId.delete(e.id);
    if (this.byKey.get(e.key) === e) this.byKey.delete(e.key);
  }

  private alloc(): number {
    for (;;) {
      const id = this.next;
      this.next = this.next >= this.base + 0x0fffffff ? this.base : this.next + 1;
      if (!this.byId.has(id) && !this.foreign.has(id)) return id;
    }
  }
}

function groupKey(members: { hop: ResolvedHop; weight: number }[]): string {
  return (
    'grp:' +
    members
      .map((m) => `${singleKey(m.hop)}*${m.weight}`)
      .sort()
      .join(',')
  );
}

export const describeHop = (h: ResolvedHop): string => (h.gateway ? formatIp(h.gateway) : `dev#${h.ifindex}`);
