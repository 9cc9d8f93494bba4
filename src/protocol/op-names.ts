/**
 * The names of the operations, without their schemas: what the thin clients need at run time (a method per name)
 * without loading zod. ops.ts holds the table itself and fails to compile unless its entries are exactly these.
 */
export const OP_NAMES = [
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
  'trash',
  'restore',
  'health',
  'stats',
  'tags',
  'export',
  'reindex',
  'backup',
  'sessions',
  'session',
  'metrics',
  'timeline',
  'retryCompressions',
  'shutdown',
] as const;

export type Op = (typeof OP_NAMES)[number];

/**
 * Gives a class with `request(op, args)` a method per op name: the TS client and the in-process LocalMnemo, which
 * declare `OpMethods` for the types.
 */
export function defineOpMethods(target: { prototype: { request(op: Op, args?: never): Promise<unknown> } }): void {
  for (const op of OP_NAMES) {
    Object.defineProperty(target.prototype, op, {
      value: function (this: typeof target.prototype, args?: unknown) {
        return this.request(op, args as never);
      },
      writable: true,
      configurable: true,
    });
  }
}
