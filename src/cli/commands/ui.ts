import { spawn } from 'node:child_process';
import type { MnemoClient } from '../../client/client.js';
import { connectCli, intValue, UsageError, type Command } from '../command.js';

/** `mnemo ui`: the local web page (src/ui), served from this process; the daemon stays on its Unix socket. */
export const ui: Command = {
  name: 'ui',
  usage: '[--port N] [--no-open]',
  summary: 'a local web page to search, read, edit and delete memories, and see sessions and health',
  details:
    'Serves on 127.0.0.1 (and ::1) only, on a free port unless --port is given, and prints one URL with a token\n' +
    'made for this run: the page answers nobody without it. Ctrl-C stops it.',
  flags: [
    { name: 'port', kind: 'int', value: 'N', help: 'listen on this port (default: a free one)' },
    { name: 'no-open', kind: 'boolean', help: 'print the URL without opening a browser' },
  ],
  async run(p) {
    const port = p.values.port === undefined ? 0 : intValue('port', p.values.port);
    if (port > 65535) throw new UsageError(`--port must be from 0 to 65535, got ${port}`);
    const { startUi } = await import('../../ui/server.js');
    let client: MnemoClient | null = null;
    const server = await startUi({
      port,
      // One connection, made again when it was lost (the daemon restarted, or stopped and is started again).
      client: async () => {
        if (client === null || client.closed) client = await connectCli();
        return client;
      },
      onError: (err) => process.stderr.write(`mnemo ui: ${(err as Error).stack ?? String(err)}\n`),
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use on 127.0.0.1; pick another --port`);
      throw err;
    });
    process.stdout.write(`mnemo ui: ${server.url}\n(Ctrl-C stops it)\n`);
    if (p.values['no-open'] !== true) openBrowser(server.url);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    (client as MnemoClient | null)?.close();
    return 0;
  },
};

/** Opens the URL in the desktop's browser when there is one; never fails (a server without a desktop just prints). */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener: the printed URL is enough.
  }
}
