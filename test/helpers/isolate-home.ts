import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every test process gets its own MNEMO_HOME, so nothing a test does can reach a real user's data, even by a default.
process.env.MNEMO_HOME = mkdtempSync(join(tmpdir(), 'mnemo-test-home-'));
delete process.env.XDG_DATA_HOME;
delete process.env.XDG_RUNTIME_DIR;
delete process.env.XDG_CONFIG_HOME;
