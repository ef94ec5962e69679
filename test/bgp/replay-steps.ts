// The text replay format both state machines' fixtures share (test/bgp/fixtures/fsm/README.md):
// `## name` starts a case, `! k=v ...` sets its options, then steps: `@ ms` sets the clock,
// `> event` feeds an event, `< summary` is the action list the event must return, `= State` the
// state after it. fsm-replay.ts (BGP, RFC 4271 §8) and bfd/replay.ts (BFD, RFC 5880 §6.8) each
// add how their events are read and their actions summarised; this file parses and replays.

export interface Step {
  line: number;
  kind: '>' | '<' | '=' | '@';
  text: string;
}

/** Splits a fixture into cases: `start` makes one from its name, `option` applies a `!` line's words. */
export function parseCases<C extends { steps: Step[] }>(text: string, start: (name: string) => C, option: (c: C, words: string[]) => void): C[] {
  const cases: C[] = [];
  let cur: C | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line.startsWith('## ')) {
      cur = start(line.slice(3));
      cases.push(cur);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (!cur) throw new Error(`line ${i + 1}: step before the first "## case"`);
    if (line.startsWith('! ')) {
      option(cur, line.slice(2).split(/\s+/));
      continue;
    }
    const kind = line[0] as Step['kind'];
    if (!'><=@'.includes(kind)) throw new Error(`line ${i + 1}: bad step ${line}`);
    cur.steps.push({ line: i + 1, kind, text: line.slice(1).trim() });
  }
  return cases;
}

/** A fresh machine under replay: the summary of what one event returned, and its state's name. */
export interface Replayed {
  handle(event: string, now: number): string;
  state(): string;
}

/** Replays one case's steps; returns the mismatches as readable lines (empty = pass). */
export function replaySteps(c: { name: string; steps: Step[] }, file: string, m: Replayed, record?: string[]): string[] {
  const errs: string[] = [];
  let now = 0;
  let last: string | undefined;
  for (const s of c.steps) {
    if (s.kind === '@') {
      now = Number(s.text);
      record?.push(`@ ${now}`);
    } else if (s.kind === '>') {
      last = m.handle(s.text, now) || '-';
      record?.push(`> ${s.text}`, `< ${last}`);
    } else if (s.kind === '<') {
      if (last !== s.text) errs.push(`${file}:${s.line} [${c.name}]\n  want: ${s.text}\n  got:  ${last}`);
    } else if (s.kind === '=') {
      const state = m.state();
      record?.push(`= ${state}`);
      if (state !== s.text) errs.push(`${file}:${s.line} [${c.name}] state want ${s.text} got ${state}`);
    }
  }
  return errs;
}
