/**
 * `import { connect } from 'mnemo'`: the client of the mnemo daemon, the code API agents and scripts use. It loads
 * no model and no database; the in-process engine is `mnemo/engine`.
 */
export {
  connect,
  MnemoClient,
  socketPathFor,
  type ConnectOptions,
  type OpMethods,
  type RequestOptions,
} from './client/client.js';
export { ErrorCode, MnemoError, isMnemoError } from './errors.js';
export { resolvePaths, type MnemoPaths } from './paths.js';
export { PROTOCOL_VERSION } from './protocol/messages.js';
export { OP_NAMES, type Op } from './protocol/op-names.js';
export type { ArgsOf, ResultOf } from './protocol/ops.js';
export type * from './protocol/results.js';
