import { beforeAll } from 'vitest';

/**
 * Under Stryker (npm run test:mutation) only: hands the active mutant to the processes a test spawns (a daemon, the
 * CLI), so they run the same mutated code as the test process. Stryker activates a mutant in the test process's
 * global namespace; the instrumented code of a child process reads it from this environment variable instead.
 * Without Stryker there is no namespace and this does nothing.
 */
const ENV = '__STRYKER_ACTIVE_MUTANT__';

function handOn(): void {
  const ns = (globalThis as { __stryker__?: { activeMutant?: string | number } }).__stryker__;
  if (!ns) return;
  if (ns.activeMutant === undefined) delete process.env[ENV];
  else process.env[ENV] = String(ns.activeMutant);
}

// A mutant active from the start (static activation) is already set; one activated per run is set in Stryker's own
// beforeAll, which runs before this one.
handOn();
beforeAll(handOn);
