import { DAEMON_MALLOC_ENV, DAEMON_V8_FLAGS } from '../daemon-env.js';

/**
 * Re-executes this process with DAEMON_MALLOC_ENV when it runs on glibc without them; returns only when it does not
 * (another platform, a Node.js without process.execve, or the variables already set: by the re-executed process
 * itself, or by a user who chose other values).
 */
export function tuneDaemonProcess(env: NodeJS.ProcessEnv = process.env): void {
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return;
  if (Object.keys(DAEMON_MALLOC_ENV).some((k) => env[k] !== undefined)) return;
  // Socket activation: the inherited listening descriptor did not survive Node's execve (the re-executed daemon's
  // listen failed with EINVAL), so the systemd unit sets the same variables and flag itself (systemd/mnemo.service).
  if (env.LISTEN_FDS !== undefined) return;
  // musl ignores these variables; glibc reports its version here.
  if (
    !(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
      ?.glibcVersionRuntime
  )
    return;
  process.execve(
    process.execPath,
    [process.execPath, ...DAEMON_V8_FLAGS, ...process.execArgv, ...process.argv.slice(1)],
    {
      ...env,
      ...DAEMON_MALLOC_ENV,
    },
  );
}
