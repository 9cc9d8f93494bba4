import { ErrorCode, MnemoError, type ErrorCode as Code } from '../errors.js';

/** Protocol major version. A peer with another major version is stale and is restarted, never argued with. */
export const PROTOCOL_VERSION = 1;

/** Every operation the daemon answers. */
export const OPS = [
  'hello',
  'status',
  'batch',
  'hook',
  'store',
  'storeBatch',
  'search',
  'searchByTag',
  'list',
  'recall',
  'get',
  'update',
  'delete',
  'health',
  'stats',
  'tags',
  'export',
  'reindex',
  'shutdown',
] as const;
export type Op = (typeof OPS)[number];
export const isOp = (op: string): op is Op => (OPS as readonly string[]).includes(op);

/**
 * How the daemon shapes a result: `value` (default) as data; `json` as a JSON string; `text` as human text. The
 * native client asks for `json` or `text`, so it only ever prints a string and never builds or walks a map.
 */
export type Render = 'value' | 'json' | 'text';

export interface Request {
  id: number;
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

export type Response =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ErrorBody };

export interface BatchCall {
  op: string;
  args?: Record<string, unknown>;
}

export type BatchItem = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

export interface HelloResult {
  protocol: number;
  version: string;
  pid: number;
  uptimeMs: number;
  ready: boolean;
  model: { name: string; dimension: number } | null;
  /** Why the daemon is not ready, when it is not (loading, or a model error). */
  state: string;
  /** A one-line notice about the model in use (a fallback), or null. */
  notice: string | null;
}

export interface HookResult {
  stdout: string;
  exitCode: number;
}

/** The wire form of any thrown value: MnemoErrors keep their code, anything else is E_INTERNAL. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof MnemoError) return err.toJSON();
  return { code: ErrorCode.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}

export function responseError(id: number, err: unknown): Response {
  return { id, ok: false, error: toErrorBody(err) };
}
