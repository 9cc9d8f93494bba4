/**
 * The daemon process's allocator settings (issue 14). glibc reads its malloc tunables from the environment when a
 * process starts, and the daemon is started four ways (the hook client's autostart, `mnemo start`, the systemd unit,
 * the launchd plist), so instead of each starter setting them, `mnemo daemon` re-executes itself once with them, in
 * place (process.execve: same pid, so a systemd LISTEN_PID and `mnemo start`'s wait still match).
 *
 * Measured on the ONNX session of the MiniLM-shaped pack (native-bench/memory.js): a session holds about twice its
 * model's 22 MB, the load buffers freed but kept by malloc; with a fixed mmap threshold those large buffers go back to
 * the system when freed (-8 MiB per worker), the trim threshold returns the heap's top after inference bursts (-9 MiB
 * after 20 runs), and two arenas instead of eight per core stop each thread (workers, ONNX Runtime, libuv, SQLite)
 * from keeping its own.
 */
export const DAEMON_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/**
 * V8 flags for the daemon (and its worker threads: V8's flags are per process). Semi-spaces of at most 1 MiB instead
 * of 16: each isolate's young generation grew toward its cap after a burst of searches and kept it. Measured at 10k
 * memories, MiniLM-shaped pack, one worker: 225 -> 197 MiB after 400 searches, search latency no worse (A/B twice,
 * medians 15-17 ms against 22 ms on a loaded machine). `--optimize-for-size` saved 8 MiB more but trades away
 * optimised code; `--single-threaded-gc` nothing.
 */
export const DAEMON_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

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
