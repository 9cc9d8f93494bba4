import { unsupportedNode } from './node-support.js';

// Imported first by the entry points that load better-sqlite3, so that an old Node.js gets a sentence, not a crash.
const why = unsupportedNode();
if (why) throw new Error(why);
