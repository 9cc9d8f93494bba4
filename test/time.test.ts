import { describe, expect, it } from 'vitest';
import { ErrorCode, MnemoError, parseTimeExpression } from '../dist/engine-index.js';

// A Wednesday, local time.
const now = new Date(2026, 10, 25, 14, 30, 0);
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();

describe('natural-language time', () => {
  const cases: [string, number | undefined, number | undefined][] = [
    ['today', at(2026, 11, 25), at(2026, 11, 26)],
    ['yesterday', at(2026, 11, 24), at(2026, 11, 25)],
    ['Yesterday  Afternoon', at(2026, 11, 24, 12), at(2026, 11, 24, 18)],
    ['this morning', at(2026, 11, 25, 6), at(2026, 11, 25, 12)],
    ['this week', at(2026, 11, 23), at(2026, 11, 30)],
    ['last week', at(2026, 11, 16), at(2026, 11, 23)],
    ['last month', at(2026, 10, 1), at(2026, 11, 1)],
    ['this year', at(2026, 1, 1), at(2027, 1, 1)],
    ['past 3 days', at(2026, 11, 22, 14, 30), now.getTime() + 1],
    ['last 2 hours', at(2026, 11, 25, 12, 30), now.getTime() + 1],
    ['past week', at(2026, 11, 18, 14, 30), now.getTime() + 1],
    ['3 days ago', at(2026, 11, 22), at(2026, 11, 23)],
    ['two weeks ago', at(2026, 11, 9), at(2026, 11, 16)],
    ['since monday', at(2026, 11, 23), now.getTime() + 1],
    ['before 2026-11-01', undefined, at(2026, 11, 1)],
    ['between nov 1 and nov 3', at(2026, 11, 1), at(2026, 11, 4)],
    ['2026-11-20', at(2026, 11, 20), at(2026, 11, 21)],
    ['march 3', at(2026, 3, 3), at(2026, 3, 4)],
  ];
  for (const [text, since, until] of cases) {
    it(text, () => {
      const r = parseTimeExpression(text, now);
      expect(r.since, 'since').toBe(since);
      expect(r.until, 'until').toBe(until);
    });
  }

  it('says what works when it does not understand', () => {
    for (const bad of ['', 'the day the music died', 'purple', 'x'.repeat(300)]) {
      let err: unknown;
      try {
        parseTimeExpression(bad, now);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(MnemoError);
      expect((err as MnemoError).code).toBe(ErrorCode.BAD_ARGS);
    }
  });
});
