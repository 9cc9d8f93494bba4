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
  'shutdown',
] as const;

export type Op = (typeof OP_NAMES)[number];
