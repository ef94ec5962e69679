// The lab most conformance tests start with: two hosts (network namespaces `<tag>-<a>` and
// `<tag>-<b>`) joined by one veth pair, destroyed when the test ends, failed or not.
import type { TestContext } from 'node:test';
import { Lab, type LinkOptions } from './lab.js';

export interface PairLab {
  lab: Lab;
  /** The namespaces, in the order named; `link` addresses hostA's end with v4/v6, hostB's with v4b/v6b. */
  hostA: string;
  hostB: string;
  /** The veth's name in hostA and in hostB. */
  ifA: string;
  ifB: string;
}

export async function pairLab(t: Pick<TestContext, 'after'>, tag: string, names: readonly [string, string], link: LinkOptions): Promise<PairLab> {
  const lab = await Lab.create(tag);
  t.after(() => lab.destroy());
  const hostA = await lab.addHost(`${tag}-${names[0]}`);
  const hostB = await lab.addHost(`${tag}-${names[1]}`);
  const { ifA, ifB } = await lab.link(hostA, hostB, link);
  return { lab, hostA, hostB, ifA, ifB };
}
