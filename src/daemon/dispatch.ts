import { badArgs, ErrorCode, MnemoError } from '../errors.js';
import { toErrorBody, type Render, type Request } from '../protocol/messages.js';
import { isOp, parseArgs, type Op } from '../protocol/ops.js';
import type { BatchItem } from '../protocol/results.js';
import { describe } from '../store/normalize.js';
import { HANDLERS, type DaemonState, type Handler, type HandlerContext } from './handlers.js';

export type { DaemonState };

const RENDERS: readonly Render[] = ['value', 'json', 'text'];

/**
 * Turns a request into a result, in one order for every operation: decode the arguments, parse them with the op's
 * schema (protocol/ops.ts; nothing has run yet, so a refusal changes nothing), check readiness, run the handler,
 * render the result as asked.
 */
export class Dispatcher {
  constructor(private readonly daemon: DaemonState) {}

  handle = async (request: Request): Promise<unknown> => {
    const render = request.render ?? 'value';
    if (!RENDERS.includes(render))
      throw badArgs(`\`render\` must be one of ${RENDERS.join(', ')}, got ${describe(render)}`);
    const { handler, args } = this.prepare(request.op, decodeArgs(request));
    const result = await handler.run(this.context(), args as never);
    if (render === 'json') return JSON.stringify(result);
    if (render === 'text') return handler.text(result, args as never, this.daemon.engine?.now() ?? Date.now());
    return result;
  };

  /** The op's handler and its parsed arguments, once the daemon can run it; throws what the caller should hear. */
  private prepare(op: string, raw: unknown): { handler: Handler<Op>; args: unknown } {
    if (!isOp(op)) throw new MnemoError(ErrorCode.UNKNOWN_OP, `unknown op '${op.slice(0, 64)}'`);
    const args = parseArgs(op, raw);
    const handler = HANDLERS[op] as Handler<Op>;
    if (!handler.idle && !this.daemon.engine)
      throw new MnemoError(ErrorCode.NOT_READY, `the daemon is not ready: ${this.daemon.state}`);
    return { handler, args };
  }

  private context(): HandlerContext {
    return {
      daemon: this.daemon,
      engine: this.daemon.engine!,
      call: async (op, raw): Promise<BatchItem> => {
        try {
          const { handler, args } = this.prepare(op, raw);
          return { ok: true, result: await handler.run(this.context(), args as never) };
        } catch (err) {
          return { ok: false, error: toErrorBody(err) };
        }
      },
    };
  }
}

/** `args`, or `args_json` parsed; must be a map (absent means no arguments). */
function decodeArgs(request: Request): unknown {
  if (request.args_json !== undefined) {
    if (typeof request.args_json !== 'string') throw badArgs('`args_json` must be a string holding a JSON object');
    try {
      return checkMap(JSON.parse(request.args_json), '`args_json`');
    } catch (err) {
      if (err instanceof MnemoError) throw err;
      throw badArgs(`\`args_json\` is not valid JSON: ${(err as Error).message}`);
    }
  }
  return checkMap(request.args, '`args`');
}

function checkMap(value: unknown, what: string): unknown {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array)
    throw badArgs(`${what} must be an object, got ${describe(value)}`);
  return value;
}
