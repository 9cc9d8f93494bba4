import type { OpMethods } from '../client/client.js';
import { defineOpMethods } from '../protocol/op-names.js';
import type { Engine } from '../engine.js';
import type { Render } from '../protocol/messages.js';
import type { ArgsOf, Op, ResultOf } from '../protocol/ops.js';
import { Dispatcher } from './dispatch.js';
import { KeyedLatency, LatencyRing } from './metrics.js';

// The methods are made from the op names below; this declaration gives them their types.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface LocalMnemo extends OpMethods {}

/**
 * The daemon's operations in process, on an engine you opened: the same edge (every argument parsed by the op table,
 * unknown keys refused) and the same handlers as over the socket, with the client's method names. No hooks.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class LocalMnemo {
  private readonly dispatcher: Dispatcher;

  constructor(readonly engine: Engine) {
    this.dispatcher = new Dispatcher({
      engine,
      hooks: null,
      notice: null,
      state: 'ready',
      startedAt: Date.now(),
      latency: new LatencyRing(),
      hookLatency: new KeyedLatency(),
      connections: () => 0,
      shutdown: () => {},
    });
  }

  request<K extends Op>(op: K, args?: ArgsOf<K>): Promise<ResultOf<K>>;
  request<K extends Op>(op: K, args: ArgsOf<K> | undefined, options: { render: 'text' | 'json' }): Promise<string>;
  request(op: Op, args?: unknown, options: { render?: Render } = {}): Promise<unknown> {
    return this.dispatcher.handle({
      id: 0,
      op,
      ...(args === undefined ? {} : { args: args as Record<string, unknown> }),
      ...(options.render ? { render: options.render } : {}),
    });
  }
}

defineOpMethods(LocalMnemo);
