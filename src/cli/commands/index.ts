import type { Command } from '../command.js';

/**
 * The CLI's routing table: every command by name, in the order \`mnemo help\` lists them, under its group. Each loads
 * its module only when it runs.
 */
type Loader = () => Promise<Command>;

export const COMMANDS: [group: string, name: string, load: Loader][] = [
  ['daemon', 'start', async () => (await import('./daemon.js')).start],
  ['daemon', 'stop', async () => (await import('./daemon.js')).stop],
  ['daemon', 'restart', async () => (await import('./daemon.js')).restart],
  ['daemon', 'status', async () => (await import('./daemon.js')).status],
  ['daemon', 'doctor', async () => (await import('./doctor.js')).doctorCommand],
  ['memories', 'store', async () => (await import('./memories.js')).store],
  ['memories', 'search', async () => (await import('./memories.js')).search],
  ['memories', 'recall', async () => (await import('./memories.js')).recall],
  ['memories', 'list', async () => (await import('./memories.js')).list],
  ['memories', 'get', async () => (await import('./memories.js')).get],
  ['memories', 'update', async () => (await import('./memories.js')).update],
  ['memories', 'delete', async () => (await import('./memories.js')).remove],
  ['memories', 'tags', async () => (await import('./memories.js')).tags],
  ['memories', 'trash', async () => (await import('./memories.js')).trash],
  ['memories', 'restore', async () => (await import('./memories.js')).restore],
  ['memories', 'export', async () => (await import('./transfer.js')).exportCommand],
  ['memories', 'import', async () => (await import('./transfer.js')).importCommand],
  ['memories', 'backup', async () => (await import('./backup.js')).backup],
  ['memories', 'restore-backup', async () => (await import('./backup.js')).restoreBackup],
  ['Claude Code and agents', 'hooks', async () => (await import('./hooks.js')).hooks],
  ['memories', 'ui', async () => (await import('./ui.js')).ui],
  ['Claude Code and agents', 'mcp', async () => (await import('./mcp.js')).mcp],
  ['models', 'model', async () => (await import('./model.js')).model],
  ['models', 'reindex', async () => (await import('./model.js')).reindex],
  ['system', 'service', async () => (await import('./service.js')).service],
  ['system', 'daemon', async () => (await import('./daemon.js')).daemon],
];

/** Every command, loaded (for help and for the test that holds the CLI to the op table). */
export const allCommands = (): Promise<Command[]> => Promise.all(COMMANDS.map(([, , load]) => load()));
