import { join } from 'node:path';
import { installService, renderUnits, serviceStatus, uninstallService } from '../service.js';
import { say, UsageError, type Command } from '../command.js';

export const service: Command = {
  name: 'service',
  usage: 'install [--print | --no-enable [--dir DIR]] | uninstall | status',
  summary: 'the daemon as a systemd user service (socket-activated) or a launchd agent',
  details: [
    'actions:',
    '  install     write the unit files and enable them (--print shows them and changes nothing)',
    '  uninstall   disable and remove them',
    '  status      whether they are installed and what the service manager says',
  ].join('\n'),
  flags: [
    { name: 'print', kind: 'boolean', help: 'install: print the units instead of writing them' },
    { name: 'no-enable', kind: 'boolean', help: 'install: write the units but do not enable them' },
    { name: 'dir', kind: 'string', value: 'DIR', help: 'where the unit files go (default: the user unit folder)' },
  ],
  // Async although nothing here waits: Command.run answers with a promise, so a usage error is a rejection.
  // eslint-disable-next-line @typescript-eslint/require-await
  async run({ values, positionals, json }) {
    const dir = typeof values.dir === 'string' ? { dir: values.dir } : {};
    const action = positionals[0];
    // Options that only install reads would be silently ignored elsewhere.
    for (const flag of ['print', 'no-enable'] as const) {
      if (values[flag] !== undefined && action !== 'install') throw new UsageError(`--${flag} is for install`);
    }
    if (values.dir !== undefined && action === 'status') throw new UsageError('--dir is for install and uninstall');
    switch (action) {
      case 'install': {
        if (values.print) {
          const units = renderUnits();
          say(
            json,
            units,
            Object.entries(units.files)
              .map(([name, text]) => `# ${join(units.dir, name)}\n${text}`)
              .join('\n'),
          );
          return 0;
        }
        const r = installService({ enable: values['no-enable'] !== true, ...dir });
        say(json, r, r.message);
        return 0;
      }
      case 'uninstall': {
        const r = uninstallService(dir);
        say(json, r, r.message);
        return 0;
      }
      case 'status': {
        const r = serviceStatus();
        say(json, r, `${r.platform}: ${r.installed ? 'installed' : 'not installed'}; ${r.state}`);
        return 0;
      }
      default:
        throw new UsageError('usage: mnemo service install [--print | --no-enable [--dir DIR]] | uninstall | status');
    }
  },
};
