import type { Engine } from '../engine.js';
import { VERSION } from '../engine.js';
import { badArgs, ErrorCode, MnemoError } from '../errors.js';
import { parseHookArgs, type HookHandler } from '../capture/hook.js';
import {
  isOp,
  PROTOCOL_VERSION,
  toErrorBody,
  type BatchItem,
  type Op,
  type HelloResult,
  type Render,
  type Request,
} from '../protocol/messages.js';
import { asArgs } from '../validate.js';
import type { LatencyRing } from './metrics.js';
import { renderText } from './text.js';

/** What the dispatcher needs to know about the daemon around it. */
export interface DaemonState {
  engine: Engine | null;
  hooks: HookHandler | null;
  /** A one-line notice about the model (a fallback in use), for hello and status. */
  notice: string | null;
  /** "loading model", "ready", or why the model failed. */
  state: string;
  startedAt: number;
  latency: LatencyRing;
  connections(): number;
  shutdown(): void;
}

const MAX_BATCH_CALLS = 256;

/** Operations that are the engine's own, argument checking included. */
const ENGINE_OPS: Record<Exclude<Op, 'hello' | 'status' | 'shutdown' | 'batch' | 'hook'>, (engine: Engine, args: Record<string, unknown>) => unknown> = {
  store: (e, a) => e.store(a),
  storeBatch: (e, a) => e.storeBatch(a),
  search: (e, a) => e.search(a),
  searchByTag: (e, a) => e.searchByTag(a),
  list: (e, a) => e.list(a),
  recall: (e, a) => e.recall(a),
  get: (e, a) => e.get(a),
  update: (e, a) => e.update(a),
  delete: (e, a) => e.delete(a),
  health: (e) => e.health(),
  stats: (e) => e.stats(),
  tags: (e, a) => e.tags(a),
  export: (e, a) => e.exportPage(a),
  reindex: (e, a) => e.reindex(a),
};
const RENDERS: readonly Render[] = ['value', 'json', 'text'];

/** Turns a request into a result: argument decoding, readiness, the op table, and the requested rendering. */
export class Dispatcher {
  constructor(private readonly daemon: DaemonState) {}

  handle = async (request: Request): Promise<unknown> => {
    const args = decodeArgs(request);
    const render = request.render ?? 'value';
    if (!RENDERS.includes(render)) throw badArgs(`\`render\` must be one of ${RENDERS.join(', ')}`);
    const result = await this.call(request.op, args, true);
    if (render === 'json') return JSON.stringify(result);
    if (render === 'text') return renderText(request.op, result, args);
    return result;
  };

  private async call(op: string, args: Record<string, unknown>, topLevel: boolean): Promise<unknown> {
    if (!isOp(op)) throw new MnemoError(ErrorCode.UNKNOWN_OP, `unknown op '${op.slice(0, 64)}'`);
    if (op === 'hello') return this.hello();
    if (op === 'status') return this.status();
    if (op === 'shutdown') {
      setImmediate(() => this.daemon.shutdown());
      return { stopping: true };
    }
    const engine = this.daemon.engine;
    if (!engine) throw new MnemoError(ErrorCode.NOT_READY, `the daemon is not ready: ${this.daemon.state}`);
    switch (op) {
      case 'batch':
        if (!topLevel) throw badArgs('a batch cannot contain another batch');
        return this.batch(engine, args);
      case 'hook': {
        const { event, payload } = parseHookArgs(args);
        if (!this.daemon.hooks) throw new MnemoError(ErrorCode.NOT_READY, 'hooks are not ready');
        return this.daemon.hooks.handle(event, payload);
      }
      default:
        return ENGINE_OPS[op](engine, args);
    }
  }

  /**
   * Runs calls in order, each answered on its own. The query texts of every search and recall in the batch are
   * embedded first, together, in one model call.
   */
  private async batch(engine: Engine, args: Record<string, unknown>): Promise<BatchItem[]> {
    const calls = args.calls;
    if (!Array.isArray(calls)) throw badArgs('`calls` must be an array of {op, args}');
    if (calls.length > MAX_BATCH_CALLS) throw badArgs(`\`calls\` holds ${calls.length} calls; the limit is ${MAX_BATCH_CALLS}`);
    const parsed = calls.map((c, i) => {
      if (typeof c !== 'object' || c === null || typeof (c as { op?: unknown }).op !== 'string') {
        return new MnemoError(ErrorCode.BAD_ARGS, `calls[${i}] must be {op, args}`);
      }
      try {
        return { op: (c as { op: string }).op, args: asArgs((c as { args?: unknown }).args, `calls[${i}].args`) };
      } catch (err) {
        return err as MnemoError;
      }
    });
    const queries = parsed.flatMap((c) =>
      !(c instanceof MnemoError) &&
      (c.op === 'search' || c.op === 'recall') &&
      typeof c.args.query === 'string' &&
      c.args.query.trim() !== '' &&
      c.args.mode !== 'keyword'
        ? [c.args.query]
        : [],
    );
    if (queries.length > 0) await engine.prepareQueries(queries);
    const out: BatchItem[] = [];
    for (const c of parsed) {
      if (c instanceof MnemoError) {
        out.push({ ok: false, error: toErrorBody(c) });
        continue;
      }
      try {
        out.push({ ok: true, result: await this.call(c.op, c.args, false) });
      } catch (err) {
        out.push({ ok: false, error: toErrorBody(err) });
      }
    }
    return out;
  }

  private hello(): HelloResult {
    const engine = this.daemon.engine;
    return {
      protocol: PROTOCOL_VERSION,
      version: VERSION,
      pid: process.pid,
      uptimeMs: Date.now() - this.daemon.startedAt,
      ready: engine !== null,
      model: engine ? { name: engine.model.name, dimension: engine.model.dimension } : null,
      state: this.daemon.state,
      notice: this.daemon.notice,
    };
  }

  private status(): Record<string, unknown> {
    const engine = this.daemon.engine;
    const health = engine?.health();
    return {
      pid: process.pid,
      version: VERSION,
      protocol: PROTOCOL_VERSION,
      state: this.daemon.state,
      uptimeSeconds: Math.round((Date.now() - this.daemon.startedAt) / 1000),
      model: engine ? `${engine.model.name} (${engine.model.dimension} dimensions, ${engine.embedder.threads} workers)` : null,
      memories: health?.memories ?? null,
      dbBytes: health?.dbBytes ?? null,
      dbPath: health?.dbPath ?? null,
      rssBytes: process.memoryUsage().rss,
      connections: this.daemon.connections(),
      requestsMs: this.daemon.latency.percentiles(),
      compressionQueue: this.daemon.hooks?.capture.queueCounts() ?? null,
      notice: this.daemon.notice,
      warnings: health?.warnings ?? [],
    };
  }
}

/** `args`, or `args_json` parsed; must be a map. */
function decodeArgs(request: Request): Record<string, unknown> {
  if (request.args_json !== undefined) {
    if (typeof request.args_json !== 'string') throw badArgs('`args_json` must be a string holding a JSON object');
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.args_json);
    } catch (err) {
      throw badArgs(`\`args_json\` is not valid JSON: ${(err as Error).message}`);
    }
    return asArgs(parsed, '`args_json`');
  }
  return asArgs(request.args, '`args`');
}
