/**
 * How the daemon process is started (issue 14): the allocator settings and V8 flags it runs with. Its own module so
 * that the clients that spawn a daemon (client/client.ts) can start it with them, without importing daemon code.
 */

/**
 * The daemon process's allocator settings (issue 14). glibc reads its malloc tunables from the environment when a
 * process starts, and the daemon is started four ways (the hook client's autostart, `mnemo start`, the systemd unit,
 * the launchd plist): the clients' spawn (client/client.ts) and the systemd unit set them, and `mnemo daemon` started
 * any other way re-executes itself once with them, in place (daemon/process-tuning.ts: process.execve, same pid, so a
 * systemd LISTEN_PID and `mnemo start`'s wait still match).
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
