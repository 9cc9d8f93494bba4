import { badArgs } from './errors.js';
import { describe } from './store/normalize.js';

/**
 * Argument checks shared by every operation. Each names the field and says what it wanted, so a bad call from an
 * agent, a script or the wire gets an E_BAD_ARGS error it can act on.
 */
export type Args = Record<string, unknown>;

export function asArgs(value: unknown, what = 'arguments'): Args {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badArgs(`${what} must be an object, got ${describe(value)}`);
  return value as Args;
}

export function optString(args: Args, field: string, maxLength = 10_000): string | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badArgs(`\`${field}\` must be a string, got ${describe(v)}`);
  if (!v.isWellFormed()) throw badArgs(`\`${field}\` is not valid Unicode text`);
  if (v.length > maxLength) throw badArgs(`\`${field}\` must be at most ${maxLength} characters, got ${v.length}`);
  return v;
}

export function optInt(args: Args, field: string, min: number, max: number): number | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badArgs(`\`${field}\` must be an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

export function optNumber(args: Args, field: string, min: number, max: number): number | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw badArgs(`\`${field}\` must be a number from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

export function optBool(args: Args, field: string): boolean | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badArgs(`\`${field}\` must be true or false, got ${describe(v)}`);
  return v;
}

export function optEnum<T extends string>(args: Args, field: string, allowed: readonly T[]): T | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw badArgs(`\`${field}\` must be one of ${allowed.join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

/** A time given as milliseconds since the epoch, or as an ISO 8601 / RFC 2822 date string. */
export function optTime(args: Args, field: string): number | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.length <= 100) {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw badArgs(`\`${field}\` must be a date (ISO 8601 like 2026-11-01, or milliseconds since the epoch), got ${describe(v)}`);
}

/** A memory type: lower-case letters, digits and `-_.`, up to 50 characters. */
export function normalizeType(value: unknown, field = 'type'): string {
  if (typeof value !== 'string') throw badArgs(`\`${field}\` must be a string, got ${describe(value)}`);
  const t = value.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9_.-]{0,49}$/.test(t)) {
    throw badArgs(`\`${field}\` must be 1 to 50 letters, digits, '-', '_' or '.', got ${describe(value)}`);
  }
  return t;
}

/** One type or several, for filters. */
export function optTypes(args: Args, field = 'type'): string[] | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.map((t) => normalizeType(t, field));
}

export const MAX_METADATA_BYTES = 64 * 1024;

export function optMetadata(args: Args, field = 'metadata'): Record<string, unknown> | undefined {
  const v = args[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badArgs(`\`${field}\` must be an object, got ${describe(v)}`);
  let json: string;
  try {
    json = JSON.stringify(v);
  } catch {
    throw badArgs(`\`${field}\` must be plain JSON data`);
  }
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) throw badArgs(`\`${field}\` must be at most 64 KiB as JSON`);
  if (!json.isWellFormed()) throw badArgs(`\`${field}\` holds text that is not valid Unicode`);
  return JSON.parse(json) as Record<string, unknown>;
}
