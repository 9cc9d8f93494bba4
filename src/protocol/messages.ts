import { ErrorCode, MnemoError, type ErrorCode as Code } from '../errors.js';

/** Protocol major version. A peer with another major version is stale and is restarted, never argued with. */
export const PROTOCOL_VERSION = 1;

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

export type Response =
  | { id: RequestId; ok: true; result: unknown }
  | { id: RequestId; ok: false; error: ErrorBody };

/** The wire form of any thrown value: MnemoErrors keep their code, anything else is E_INTERNAL. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof MnemoError) return err.toJSON();
  return { code: ErrorCode.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}

export function responseError(id: RequestId, err: unknown): Response {
  return { id, ok: false, error: toErrorBody(err) };
}
