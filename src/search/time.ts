// English only: the package's root loads every locale it has (measured: 3.6 MiB of heap against 0.7; issue 14).
import * as chrono from 'chrono-node/en';
import { badArgs } from '../errors.js';

/** A half-open time range [since, until) in milliseconds since the epoch; either end may be open. */
export interface TimeRange {
  since?: number;
  until?: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Unit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';
const UNITS: Record<string, Unit> = {
  min: 'minute',
  mins: 'minute',
  minute: 'minute',
  minutes: 'minute',
  h: 'hour',
  hr: 'hour',
  hrs: 'hour',
  hour: 'hour',
  hours: 'hour',
  d: 'day',
  day: 'day',
  days: 'day',
  w: 'week',
  wk: 'week',
  wks: 'week',
  week: 'week',
  weeks: 'week',
  month: 'month',
  months: 'month',
  y: 'year',
  yr: 'year',
  yrs: 'year',
  year: 'year',
  years: 'year',
};
const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  couple: 2,
  few: 3,
  several: 3,
};
const PARTS_OF_DAY: Record<string, [number, number]> = {
  morning: [6, 12],
  afternoon: [12, 18],
  evening: [18, 24],
  tonight: [18, 24],
  night: [18, 24],
};

const startOf = (date: Date, unit: Unit): Date => {
  const d = new Date(date);
  switch (unit) {
    case 'year':
      d.setMonth(0, 1);
      d.setHours(0, 0, 0, 0);
      break;
    case 'month':
      d.setDate(1);
      d.setHours(0, 0, 0, 0);
      break;
    case 'week': {
      // Weeks start on Monday.
      const back = (d.getDay() + 6) % 7;
      d.setDate(d.getDate() - back);
      d.setHours(0, 0, 0, 0);
      break;
    }
    case 'day':
      d.setHours(0, 0, 0, 0);
      break;
    case 'hour':
      d.setMinutes(0, 0, 0);
      break;
    case 'minute':
      d.setSeconds(0, 0);
      break;
  }
  return d;
};

const add = (date: Date, unit: Unit, n: number): Date => {
  const d = new Date(date);
  switch (unit) {
    case 'year':
      d.setFullYear(d.getFullYear() + n);
      break;
    case 'month':
      d.setMonth(d.getMonth() + n);
      break;
    case 'week':
      d.setDate(d.getDate() + 7 * n);
      break;
    case 'day':
      d.setDate(d.getDate() + n);
      break;
    case 'hour':
      return new Date(d.getTime() + n * HOUR);
    case 'minute':
      return new Date(d.getTime() + n * MINUTE);
  }
  return d;
};

const period = (start: Date, unit: Unit): TimeRange => ({
  since: start.getTime(),
  until: add(start, unit, 1).getTime(),
});

function amount(word: string): number | null {
  if (/^\d+$/.test(word)) return Number(word);
  return NUMBER_WORDS[word] ?? null;
}

/** A point in time chrono understands, taken in the past when the text leaves the year open. */
function chronoPoint(text: string, now: Date): { date: Date; range: TimeRange } | null {
  const [result] = chrono.parse(text, now, { forwardDate: false });
  if (!result || result.text.length < text.replace(/^(on|at|in)\s+/, '').length * 0.6) return null;
  let date = result.start.date();
  if (date.getTime() > now.getTime() && !result.start.isCertain('year')) {
    date = new Date(date);
    date.setFullYear(date.getFullYear() - 1);
  }
  if (result.end) return { date, range: { since: date.getTime(), until: result.end.date().getTime() } };
  const unit: Unit = result.start.isCertain('minute')
    ? 'minute'
    : result.start.isCertain('hour')
      ? 'hour'
      : result.start.isCertain('day') || result.start.isCertain('weekday')
        ? 'day'
        : result.start.isCertain('month')
          ? 'month'
          : 'day';
  return { date, range: period(startOf(date, unit), unit) };
}

function dayOf(word: string, now: Date): Date | null {
  if (word === 'today' || word === 'this' || word === '') return startOf(now, 'day');
  if (word === 'yesterday') return startOf(add(now, 'day', -1), 'day');
  const hit = chronoPoint(word, now);
  return hit ? startOf(hit.date, 'day') : null;
}

/**
 * Understands the time phrases people use when recalling: "today", "yesterday", "yesterday afternoon", "this week",
 * "last month", "past 3 days", "last 2 hours", "3 days ago", "since monday", "before 2026-11-01",
 * "between nov 1 and nov 3", and any single date or time chrono-node parses ("last friday", "2026-11-20", "march 3").
 * Anything else is an E_BAD_ARGS error that says what would work.
 */
export function parseTimeExpression(input: string, now: Date = new Date()): TimeRange {
  const text = input.trim().toLowerCase().replace(/\s+/g, ' ');
  if (text.length === 0) throw badArgs('`time` must not be empty');
  if (text.length > 200) throw badArgs('`time` must be at most 200 characters');

  if (text === 'today') return period(startOf(now, 'day'), 'day');
  if (text === 'yesterday') return period(startOf(add(now, 'day', -1), 'day'), 'day');
  if (text === 'day before yesterday') return period(startOf(add(now, 'day', -2), 'day'), 'day');

  let m = /^(this|current|last|previous|past) (week|month|year|hour|day)$/.exec(text);
  if (m) {
    const unit = UNITS[m[2]!]!;
    if (m[1] === 'this' || m[1] === 'current') return period(startOf(now, unit), unit);
    // "last week" is the calendar week before this one; "past week" is the last seven days up to now.
    if (m[1] === 'past') return { since: add(now, unit, -1).getTime(), until: now.getTime() + 1 };
    return period(startOf(add(now, unit, -1), unit), unit);
  }

  m = /^(?:in the )?(?:past|last|previous|recent) (\w+) (\w+)$/.exec(text);
  if (m && amount(m[1]!) !== null && UNITS[m[2]!]) {
    return { since: add(now, UNITS[m[2]!]!, -amount(m[1]!)!).getTime(), until: now.getTime() + 1 };
  }

  m = /^(\w+) (\w+) ago$/.exec(text);
  if (m && amount(m[1]!) !== null && UNITS[m[2]!]) {
    const unit = UNITS[m[2]!]!;
    return period(startOf(add(now, unit, -amount(m[1]!)!), unit), unit);
  }

  m = /^(?:(.+?) )?(morning|afternoon|evening|tonight|night)$/.exec(text);
  if (m) {
    const day = dayOf(m[1] ?? '', now);
    if (day) {
      const [from, to] = PARTS_OF_DAY[m[2]!]!;
      return { since: day.getTime() + from * HOUR, until: day.getTime() + to * HOUR };
    }
  }

  m = /^(?:since|after|from) (.+)$/.exec(text);
  if (m && !/ (?:to|and|until) /.test(m[1]!)) {
    const start = parseTimeExpression(m[1]!, now);
    return { since: start.since ?? start.until, until: now.getTime() + 1 };
  }

  m = /^(?:before|until|till|prior to) (.+)$/.exec(text);
  if (m) {
    const end = parseTimeExpression(m[1]!, now);
    return { until: end.since ?? end.until };
  }

  m = /^(?:between|from) (.+?) (?:and|to|until) (.+)$/.exec(text);
  if (m) {
    const a = parseTimeExpression(m[1]!, now);
    const b = parseTimeExpression(m[2]!, now);
    const since = a.since ?? a.until;
    const until = b.until ?? b.since;
    if (since !== undefined && until !== undefined && since < until) return { since, until };
  }

  const hit = chronoPoint(text, now);
  if (hit) return hit.range;

  throw badArgs(
    `could not understand the time '${input}'; ` +
      "try 'yesterday', 'last week', 'past 3 days', 'since monday' or a date like 2026-11-01",
  );
}

/** Words of the sentence around a time phrase, never its first or last word. */
const FILLER = new Set([
  'about',
  'the',
  'a',
  'an',
  'for',
  'of',
  'to',
  'and',
  'or',
  'with',
  'we',
  'i',
  'did',
  'do',
  'what',
  'when',
  'how',
  'which',
  'that',
  'is',
  'was',
]);

/** Words that make a phrase a time phrase when it stands inside a sentence. */
const TIME_WORD = new RegExp(
  '\\b(today|yesterday|tonight|morning|afternoon|evening|night|last|past|previous|this|ago|since|before|after|' +
    'between|until|week|weeks|month|months|year|years|day|days|hours?|monday|tuesday|wednesday|thursday|friday|' +
    'saturday|sunday)\\b',
  'i',
);

/**
 * The time phrase inside a question ("what did we decide last week about auth" -> "last week", the rest "what did we
 * decide about auth"), as mcp-memory-service's recall takes it: the longest run of words that parseTimeExpression
 * understands. Null when there is none.
 */
export function findTimeExpression(
  text: string,
  now: Date = new Date(),
): { time: string; range: TimeRange; rest: string } | null {
  const words = text.trim().split(/\s+/).slice(0, 40);
  for (let length = Math.min(words.length, 8); length >= 1; length--) {
    for (let start = 0; start + length <= words.length; start++) {
      const phrase = words
        .slice(start, start + length)
        .join(' ')
        .replace(/[?!.,;:]+$/, '');
      // Inside a sentence, only a phrase that says it is a time counts: "how may I" is not May, "deploy now" is not a
      // minute ago, "the mon script" is not a Monday. A phrase needs a time word or a date-like number.
      if (!TIME_WORD.test(phrase) && !/\d{1,4}[-/]\d{1,2}/.test(phrase)) continue;
      // Nor does a run that starts or ends on a word of the sentence around it ("last week about").
      const first = words[start]!.toLowerCase();
      const last = phrase.split(' ').pop()!.toLowerCase();
      if (FILLER.has(first) || FILLER.has(last) || /^(in|on|at|from|since|before|after)$/.test(last)) continue;
      try {
        const range = parseTimeExpression(phrase, now);
        const rest = [...words.slice(0, start), ...words.slice(start + length)].join(' ');
        return { time: phrase, range, rest };
      } catch {
        // Not a time; try a shorter or later run.
      }
    }
  }
  return null;
}

export { DAY, HOUR };
