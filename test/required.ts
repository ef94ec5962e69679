// One rule for a test whose prerequisite (root, a binary, a build, IPv6 loopback) is missing:
// skip on a developer's machine, FAIL under TERN_CONFORMANCE=1 (CI), where a skipped test would
// look like a passing one. conformance/lab/gate.ts applies the same rule to the lab scenarios.

import type { TestContext } from 'node:test';

export const conformanceRequired = (): boolean => process.env.TERN_CONFORMANCE === '1';

/** Inside a test: skips (returns false) or, under TERN_CONFORMANCE=1, throws. */
export function requireOrSkip(t: TestContext, missing: string | false | undefined): boolean {
  if (!missing) return true;
  if (conformanceRequired()) throw new Error(`${missing} (TERN_CONFORMANCE=1 requires it)`);
  t.skip(missing);
  return false;
}

/**
 * For `test(name, { skip }, fn)` options: the skip reason on a developer's machine, false under
 * TERN_CONFORMANCE=1 so the test runs and `requireOrSkip` inside it fails with the reason.
 */
export const skipOption = (missing: string | false | undefined): string | false => (missing && !conformanceRequired() ? missing : false);
