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

/** The wire form of any thrown value: MnemoErrors keep their code, anything else is E_INTERNAL. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof MnemoError) return err.toJSON();
  return { code: ErrorCode.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}

export function responseError(id: RequestId, err: unknown): Response {
  return { id, ok: false, error: toErrorBody(err) };
}
