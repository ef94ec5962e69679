/**
 * Exponential backoff with jitter for reconnecting to a datastore: after a failure wait
 * min, 2*min, 4*min ... up to max, each delay drawn from [d/2, d] so that the nodes of a
 * cluster, which all lost the API server at the same moment, do not come back in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt. */
  next(): number {
    const d = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(d / 2 + (d / 2) * this.random());
  }

  /** An attempt succeeded: start again from the minimum. */
  reset(): void {
    this.attempt = 0;
  }
}
