import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { installedEvents, installHooks, projectDirOf, settingsPath, uninstallHooks } from '../hooks.js';
import { say, tryConnect, UsageError, type Command } from '../command.js';

export const hooks: Command = {
  name: 'hooks',
  usage: 'install | uninstall | status [options]',
  summary: "Claude Code's hooks: capture sessions and add context (install is idempotent and keeps your own hooks)",
  details: [
    'actions:',
    '  install     add mnemo hooks to .claude/settings.local.json (project) or ~/.claude/settings.json (user)',
    '  uninstall   remove them, leaving everything else as it was',
    '  status      where hooks are installed and whether the daemon answers',
  ].join('\n'),
  flags: [
    { name: 'scope', kind: 'string', value: 'S', help: 'project (default: the git work tree here) or user' },
    {
      name: 'project',
      kind: 'string',
      value: 'DIR',
      help: 'the project folder (default: the git work tree of the current folder)',
    },
  ],
  ops: ['hello'],
  async run({ values, positionals, json }) {
    const [action] = positionals;
    const scope = (values.scope ?? 'project') as string;
    if (scope !== 'project' && scope !== 'user')
      throw new UsageError(`--scope must be project or user, got '${scope}'`);
    const projectDir = projectDirOf(typeof values.project === 'string' ? values.project : process.cwd());
    switch (action) {
      case 'install': {
        const r = installHooks(scope, projectDir);
        const lines = [
          `${r.changed ? 'installed' : 'already installed'}: mnemo hooks for ${r.events.join(', ')} in ${r.path}`,
          ...(r.gitignore ? [`added ${relativeTo(projectDir, r.path)} to ${r.gitignore}`] : []),
          ...(r.changed && existsSync(`${r.path}.mnemo-backup`)
            ? [`backup of the previous file: ${r.path}.mnemo-backup`]
            : []),
        ];
        say(json, r, lines.join('\n'));
        return 0;
      }
      case 'uninstall': {
        const r = uninstallHooks(scope, projectDir);
        say(json, r, r.removed > 0 ? `removed ${r.removed} mnemo hooks from ${r.path}` : `no mnemo hooks in ${r.path}`);
        return 0;
      }
      case 'status': {
        // Status shows every place hooks can be installed; a --scope would be silently ignored.
        if (values.scope !== undefined)
          throw new UsageError('--scope is for install and uninstall; status shows every scope');
        const places = [
          { scope: 'project', path: settingsPath('project', projectDir) },
          { scope: 'project (shared)', path: join(projectDir, '.claude', 'settings.json') },
          { scope: 'user', path: settingsPath('user', projectDir) },
        ].map((p) => ({ ...p, events: installedEvents(p.path) }));
        const client = await tryConnect();
        const hello = client?.greeting ?? null;
        client?.close();
        const daemon = hello
          ? { running: true, pid: hello.pid, ready: hello.ready, state: hello.state }
          : { running: false };
        const lines = places.map(
          (p) => `${p.scope.padEnd(17)} ${p.events ? p.events.join(', ') : 'not installed'}  (${p.path})`,
        );
        lines.push(
          hello
            ? `daemon            answers (pid ${hello.pid}, ${hello.state})`
            : 'daemon            not running (the first hook starts it)',
        );
        say(json, { places, daemon }, lines.join('\n'));
        return 0;
      }
      default:
        throw new UsageError(
          action
            ? `unknown action '${action}'; see \`mnemo hooks --help\``
            : 'give an action: mnemo hooks install | uninstall | status',
        );
    }
  },
};

function relativeTo(dir: string, path: string): string {
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}
