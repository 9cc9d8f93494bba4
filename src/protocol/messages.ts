import { ErrorCode, MnemoError, type ErrorCode as Code } from '../errors.js';

/** Protocol major version. A peer with another major version is stale and is restarted, never argued with. */
export const PROTOCOL_VERSION = 1;

/**
 * The start of `hello.state` when the daemon could not open its engine (config, model, database): it stays up to say
 * why, and clients stop waiting for it. Daemons before 0.1.0's fault work said "model failed to load" for all of these.
 */
export const FAILED_STATE = 'failed to start';
export const isFailedState = (state: string): boolean =>
  state.startsWith(FAILED_STATE) || state.startsWith('model failed');

/**
 * How the daemon shapes a result: `value` (default) as data; `json` as a JSON string; `text` as human text. The
 * native client asks for `json` or `text`, so it only ever prints a string and never builds or walks a map.
 */
export type Render = 'value' | 'json' | 'text';

/** A request id: any non-negative integer; beyond 2^53 it is a BigInt, echoed back exactly. */
export type RequestId = number | bigint;

export interface Request {
  id: RequestId;
  op: string;
  args?: Record<string, unknown>;
  /** Arguments as a JSON object text, for clients that cannot build MessagePack maps (the native client). */
  args_json?: string;
  render?: Render;
}

export interface ErrorBody {
  code: Code;
  message: string;
  details?: Record<string, unknown>;
}

export type Response = { id: RequestId; ok: true; result: unknown } | { id: RequestId; ok: false; error: ErrorBody };

/**
 * What the disk or the database file did, by SQLite's result code: the user can act on these (free space, fix
 * permissions, restore a backup), so they get their own code and a sentence, not E_INTERNAL.
 */
const STORAGE_FAULTS: Record<string, string> = {
  SQLITE_FULL: 'the disk holding the database is full; free some space (nothing stored was lost)',
  SQLITE_READONLY: 'the database cannot be written (a read-only file or file system)',
  SQLITE_CORRUPT: 'the database is damaged; `mnemo doctor` checks it, `mnemo restore-backup` puts back a copy',
  SQLITE_NOTADB: 'the database file is not a SQLite database; `mnemo restore-backup` puts back a copy',
  SQLITE_IOERR: 'the disk failed to read or write the database',
};

/** The wire form of any thrown value: MnemoErrors keep their code, storage faults are E_STORAGE, others E_INTERNAL. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof MnemoError) return err.toJSON();
  const message = err instanceof Error ? err.message : String(err);
  const sqlite = (err as { code?: unknown } | null)?.code;
  // Extended codes (SQLITE_IOERR_WRITE, SQLITE_CORRUPT_VTAB) share their primary code's sentence.
  const primary = typeof sqlite === 'string' ? /^SQLITE_[A-Z]+/.exec(sqlite)?.[0] : undefined;
  const fault = primary ? STORAGE_FAULTS[primary] : undefined;
  if (fault) return { code: ErrorCode.STORAGE, message: `${fault} (${message})` };
  return { code: ErrorCode.INTERNAL, message };
}

export function responseError(id: RequestId, err: unknown): Response {
  return { id, ok: false, error: toErrorBody(err) };
}
