/**
 * Every error mnemo raises on purpose is a MnemoError: a stable code that crosses the wire and a message a person can
 * act on. Codes are the protocol's (docs/ARCHITECTURE.md, "Protocol"); the store, embedder and search raise them
 * directly so the daemon never has to translate.
 */
export const ErrorCode = {
  BAD_FRAME: 'E_BAD_FRAME',
  TOO_LARGE: 'E_TOO_LARGE',
  UNKNOWN_OP: 'E_UNKNOWN_OP',
  BAD_ARGS: 'E_BAD_ARGS',
  NOT_FOUND: 'E_NOT_FOUND',
  AMBIGUOUS: 'E_AMBIGUOUS',
  BUSY: 'E_BUSY',
  TIMEOUT: 'E_TIMEOUT',
  VERSION: 'E_VERSION',
  NOT_READY: 'E_NOT_READY',
  MODEL: 'E_MODEL',
  MODEL_MISMATCH: 'E_MODEL_MISMATCH',
  CLOSED: 'E_CLOSED',
  STORAGE: 'E_STORAGE',
  INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class MnemoError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'MnemoError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export const badArgs = (message: string, details?: Record<string, unknown>): MnemoError =>
  new MnemoError(ErrorCode.BAD_ARGS, message, details);
export const notFound = (message: string): MnemoError => new MnemoError(ErrorCode.NOT_FOUND, message);
export const modelError = (message: string, details?: Record<string, unknown>): MnemoError =>
  new MnemoError(ErrorCode.MODEL, message, details);

export const isMnemoError = (err: unknown): err is MnemoError => err instanceof MnemoError;
