// Hostile cases whose RFC outcome waits for a fix not made yet. They still run, as node:test
// TODOs: a failure is reported but does not fail the suite; a case left here after its fix
// landed shows up as a passing TODO. Empty since the kernel's address list feeds the next-hop
// check (tw-nexthop-own, issue 15); a case found failing goes here with its defect named.
export const PENDING_DEFECT_FIXES: ReadonlySet<string> = new Set<string>([]);
