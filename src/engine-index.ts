/** `import { Engine } from 'mnemo/engine'`: mnemo in-process (store, embed, search), without a daemon. */
import './node-check.js';

export { Engine, VERSION } from './engine.js';
export type { EngineOptions, Hit, Ranked, SearchQuery, UpdatePatch, DeleteSelection } from './engine.js';
export { LocalMnemo } from './daemon/local.js';
export { ErrorCode, MnemoError, isMnemoError } from './errors.js';
export { OPS, parseArgs, type ArgsOf, type ResultOf, type Op } from './protocol/ops.js';
export type * from './protocol/results.js';
export { compactOf } from './search/compact.js';
export { renderCompact } from './search/render.js';
export { countTokens } from './search/tokens.js';
export { parseTimeExpression } from './search/time.js';
