/**
 * `import { connect } from 'mnemo'`: the client of the mnemo daemon, the code API agents and scripts use. It loads
 * no model and no database; the in-process engine is `mnemo/engine`.
 */
export { connect, MnemoClient, socketPathFor, type ConnectOptions } from './client/client.js';
export { ErrorCode, MnemoError, isMnemoError } from './errors.js';
export { resolvePaths, type MnemoPaths } from './paths.js';
export { PROTOCOL_VERSION, OPS, type Op, type BatchCall, type BatchItem, type HelloResult, type HookResult } from './protocol/messages.js';
export type { DeleteResult, FullHit, Health, Listing, ResultFormat, Stats, StoreResult } from './engine.js';
export type { Memory } from './store/types.js';
export type { CompactMemory } from './search/compact.js';
