// What build is running: the package version, the git commit it was built from, and node's
// version (`ternd --version`, `bgpctl --version`, `bgpctl show status`). dist/ has no .git, so
// the commit is recorded at build time: `npm run build` runs this file as a script, which writes
// dist/build-info.json; at run time the same file reads it back.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BuildInfo {
  /** package.json "version". */
  version: string;
  /** Full git commit id of the source tree, or 'unknown' when built outside a git checkout. */
  commit: string;
  /** True when the tree had uncommitted changes to tracked files: not the named commit. */
  dirty: boolean;
  /** process.version of the running node (not of the build). */
  node: string;
}

// This file compiles to dist/src/build-info.js: the package root is two levels up.
const ROOT = join(__dirname, '..', '..');
const RECORD = join(ROOT, 'dist', 'build-info.json');

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Reads the record written at build time; a build without one says 'unknown', never guesses. */
export function buildInfo(): BuildInfo {
  let rec: { commit?: unknown; dirty?: unknown } = {};
  try {
    rec = JSON.parse(readFileSync(RECORD, 'utf8')) as typeof rec;
  } catch {
    // tsc alone (no `npm run build`): no record.
  }
  return {
    version: packageVersion(),
    commit: typeof rec.commit === 'string' ? rec.commit : 'unknown',
    dirty: rec.dirty === true,
    node: process.version,
  };
}

/** One line: `ternd 0.1.0 (commit 1a2b3c4d5e6f, node v20.19.1)`; "+dirty" marks a modified tree. */
export function versionLine(program: string, b: BuildInfo = buildInfo()): string {
  const commit = b.commit === 'unknown' ? 'commit unknown' : `commit ${b.commit.slice(0, 12)}${b.dirty ? '+dirty' : ''}`;
  return `${program} ${b.version} (${commit}, node ${b.node})`;
}

function git(root: string, args: string[]): string | null {
  // Loaded here, at build time only: ternd reads the record and never runs git, and
  // child_process (with dgram) stayed resident in every daemon for this (issue 18).
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/**
 * Writes dist/build-info.json (run by `npm run build` after tsc). The commit comes from the
 * checkout; where there is no .git (an image build gets the sources without it) from
 * TERN_BUILD_COMMIT and TERN_BUILD_DIRTY=1, which deploy/image.sh passes; else 'unknown'.
 */
export function recordBuild(root = ROOT, env: NodeJS.ProcessEnv = process.env): { commit: string; dirty: boolean } {
  const head = git(root, ['rev-parse', 'HEAD']);
  let rec: { commit: string; dirty: boolean };
  if (head !== null) {
    const status = git(root, ['status', '--porcelain', '--untracked-files=no']);
    rec = { commit: head, dirty: status !== null && status !== '' };
  } else {
    const given = env.TERN_BUILD_COMMIT ?? '';
    rec = /^[0-9a-f]{7,40}$/.test(given) ? { commit: given, dirty: env.TERN_BUILD_DIRTY === '1' } : { commit: 'unknown', dirty: false };
  }
  writeFileSync(join(root, 'dist', 'build-info.json'), JSON.stringify(rec) + '\n');
  return rec;
}

if (require.main === module) recordBuild();
