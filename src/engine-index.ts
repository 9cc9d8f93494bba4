/** `import { Engine } from 'mnemo/engine'`: mnemo in-process (store, embed, search), without a daemon. */
import './node-check.js';
export { Engine, VERSION } from './engine.js';
export type { EngineOptions, StoreResult, Listing, FullHit, DeleteResult, Health, Stats, ResultFormat } from './engine.js';
export { ErrorCode, MnemoError, isMnemoError } from './errors.js';
export type { Memory } from './store/types.js';
export type { CompactMemory } from './search/compact.js';
export { renderCompact } from './search/render.js';
export { countTokens } from './search/tokens.js';
export { parseTimeExpression } from './search/time.js';
