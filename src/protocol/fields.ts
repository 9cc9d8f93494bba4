import { z } from 'zod';
import { badArgs, type MnemoError } from '../errors.js';
import { describe, normalizeTags, tagsProblem } from '../store/normalize.js';

/**
 * The argument fields of the operations, as zod schemas whose messages a person can act on ("must be an integer from
 * 1 to 100, got 'ten'"; the field's name is put in front by `badArgsFrom`). Each field checks its input with one
 * function that returns the problem or null, so a message always says what was given. `req` fields must be present;
 * `opt` fields may be absent or null (JSON from scripts and the native client often carries nulls).
 */
export interface Field<In, Out> {
  req: z.ZodType<Out, z.ZodTypeDef, In>;
  opt: z.ZodType<Out | undefined, z.ZodTypeDef, In | null | undefined>;
}

function field<In, Out = In>(
  problem: (v: unknown) => string | null,
  convert: (v: In) => Out = (v) => v as unknown as Out,
): Field<In, Out> {
  const message = (v: unknown) => ({ message: v === undefined ? 'is required' : (problem(v) ?? 'is not valid') });
  return {
    req: z.custom<In>((v) => v !== undefined && problem(v) === null, message, true).transform(convert),
    opt: z
      .custom<In | null | undefined>((v) => v === undefined || v === null || problem(v) === null, message, true)
      .transform((v) => (v === undefined || v === null ? undefined : convert(v))),
  };
}

export function text(maxLength = 10_000): Field<string, string> {
  return field<string>((v) => {
    if (typeof v !== 'string') return `must be a string, got ${describe(v)}`;
    if (!v.isWellFormed()) return 'is not valid Unicode text';
    if (v.length > maxLength) return `must be at most ${maxLength} characters, got ${v.length}`;
    return null;
  });
}

/**
 * A file the daemon writes, named by an absolute path: the daemon does not share the caller's working directory (the
 * CLI resolves a relative name before it asks), and a name of only white space or with a NUL byte is a mistake.
 */
export function absolutePath(maxLength = 4096): Field<string, string> {
  const t = text(maxLength);
  return field<string>((v) => {
    const r = t.req.safeParse(v);
    if (!r.success) return r.error.issues[0]!.message;
    const path = v as string;
    if (path.includes('\0')) return 'must not contain a NUL byte';
    if (!path.startsWith('/')) return `must be an absolute path, got ${describe(v)}`;
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (name.trim().length === 0) return `must name a file, not a folder or white space, got ${describe(v)}`;
    return null;
  });
}

/** Text that must hold something besides white space (queries). */
export function words(maxLength: number): Field<string, string> {
  const t = text(maxLength);
  return field<string>((v) => {
    const r = t.req.safeParse(v);
    if (!r.success) return r.error.issues[0]!.message;
    return (v as string).trim().length === 0 ? 'must not be empty' : null;
  });
}

export function int(min: number, max: number): Field<number, number> {
  return field<number>((v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? null
      : `must be an integer from ${min} to ${max}, got ${describe(v)}`,
  );
}

export function num(min: number, max: number): Field<number, number> {
  return field<number>((v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max
      ? null
      : `must be a number from ${min} to ${max}, got ${describe(v)}`,
  );
}

export const bool = (): Field<boolean, boolean> =>
  field<boolean>((v) => (typeof v === 'boolean' ? null : `must be true or false, got ${describe(v)}`));

export function oneOf<T extends string>(values: readonly T[]): Field<T, T> {
  return field<T>((v) =>
    typeof v === 'string' && (values as readonly string[]).includes(v)
      ? null
      : `must be one of ${values.join(', ')}, got ${describe(v)}`,
  );
}

/** Latest time accepted (the year 9999): keeps 1e300 and the like out of the database, where they sorted first. */
export const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * ISO 8601 dates and times: 2026-11-01, 2026-11-01T10:00, 2026-11-01 10:00:00.123Z, with an optional offset. Nothing
 * looser: `Date.parse` reads "5" as 2001-05-01, so `--since 5` once matched (and could delete) every memory.
 */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** A time as milliseconds since the epoch, or an ISO 8601 date string; out: milliseconds. */
export function time(): Field<number | string, number> {
  const parse = (v: unknown): number => {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && ISO_DATE.test(v.trim())) return Date.parse(v.trim());
    return Number.NaN;
  };
  return field<number | string, number>((v) => {
    const t = parse(v);
    return Number.isFinite(t) && t >= 0 && t <= MAX_TIME
      ? null
      : 'must be a date (ISO 8601 like 2026-11-01 or 2026-11-01T14:30Z, ' +
          `or milliseconds since the epoch, up to the year 9999), got ${describe(v)}`;
  }, parse);
}

/** A memory type: lower-case letters, digits and `-_.`, up to 50 characters (any case and padding accepted). */
export const TYPE_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,49}$/;
const typeProblem = (v: unknown) =>
  typeof v === 'string' && TYPE_PATTERN.test(v.trim().toLowerCase())
    ? null
    : `must be 1 to 50 letters, digits, '-', '_' or '.', got ${describe(v)}`;
const toType = (v: string) => v.trim().toLowerCase();

export const memoryType = (): Field<string, string> => field<string>(typeProblem, toType);

/** One type or several (filters). */
export const memoryTypes = (): Field<string | string[], string[]> =>
  field<string | string[], string[]>(
    (v) =>
      Array.isArray(v)
        ? v.length === 0
          ? 'must name at least one type'
          : (v.map(typeProblem).find((p) => p) ?? null)
        : typeProblem(v),
    (v) => [...new Set((Array.isArray(v) ? v : [v]).map(toType))],
  );

/** Tags: an array of strings or one comma-separated string; normalised (see store/normalize.ts). */
export const tags = (): Field<string | string[], string[]> =>
  field<string | string[], string[]>(tagsProblem, (v) => normalizeTags(v));

/** A memory hash or a prefix of one (6 to 64 hex digits, any case). */
export const MIN_HASH_PREFIX = 6;
export const hash = (): Field<string, string> =>
  field<string>(
    (v) => {
      if (typeof v !== 'string' || !/^[0-9a-fA-F]+$/.test(v.trim()))
        return `must be hex digits (a memory hash or a prefix of one), got ${describe(v)}`;
      const n = v.trim().length;
      if (n < MIN_HASH_PREFIX) return `must have at least ${MIN_HASH_PREFIX} characters, got ${n}`;
      if (n > 64) return `must have at most 64 characters, got ${n}`;
      return null;
    },
    (v) => v.trim().toLowerCase(),
  );

export const MAX_METADATA_BYTES = 64 * 1024;
/** Nesting deeper than this is refused here, before SQLite's JSON parser (1,000 levels) refuses it with E_INTERNAL. */
export const MAX_METADATA_DEPTH = 64;

/** Metadata: a plain JSON object of at most 64 KiB and 64 levels. */
export const metadata = (): Field<Record<string, unknown>, Record<string, unknown>> =>
  field<Record<string, unknown>>(
    (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `must be an object, got ${describe(v)}`;
      if (depth(v, 0) > MAX_METADATA_DEPTH) return `must be nested at most ${MAX_METADATA_DEPTH} levels deep`;
      let json: string;
      try {
        json = JSON.stringify(v);
      } catch {
        return 'must be plain JSON data';
      }
      if (Buffer.byteLength(json) > MAX_METADATA_BYTES) return 'must be at most 64 KiB as JSON';
      if (!json.isWellFormed()) return 'holds text that is not valid Unicode';
      return null;
    },
    (v) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>,
  );

function depth(v: unknown, level: number): number {
  if (level > MAX_METADATA_DEPTH || typeof v !== 'object' || v === null) return level;
  let deepest = level + 1;
  for (const child of Object.values(v)) deepest = Math.max(deepest, depth(child, level + 1));
  return deepest;
}

/** A list of at most `max` items of one schema, at least one. */
export function list<In, Out>(item: z.ZodType<Out, z.ZodTypeDef, In>, max: number) {
  return z
    .array(item, { errorMap: (_, ctx) => ({ message: `must be an array, got ${describe(ctx.data)}` }) })
    .superRefine((a, ctx) => {
      if (a.length === 0) ctx.addIssue({ code: 'custom', message: 'must hold at least one item', fatal: true });
      if (a.length > max)
        ctx.addIssue({ code: 'custom', message: `holds ${a.length} items; the limit is ${max}`, fatal: true });
    });
}

/**
 * A zod failure as the protocol's E_BAD_ARGS, naming the field: "`limit` must be an integer from 1 to 100, got 'ten'".
 */
export function badArgsFrom(error: z.ZodError, known: readonly string[] = []): MnemoError {
  const messages = error.issues.map((issue) => {
    const where = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
    if (issue.code === 'unrecognized_keys') {
      const prefix = where ? `${where}.` : '';
      return issue.keys
        .map((k) => {
          const near = closest(k, known);
          return `unknown argument \`${prefix}${k}\`${near ? ` (did you mean \`${near}\`?)` : ''}`;
        })
        .join('; ');
    }
    return where ? `\`${where}\` ${issue.message}` : issue.message;
  });
  const fields = error.issues.map((i) => (i.code === 'unrecognized_keys' ? i.keys : [i.path.join('.')])).flat();
  return badArgs(messages.join('; '), { fields });
}

/** The known name within two edits of `name`, if there is one (typos: `limt`, `mnScore`). */
function closest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
