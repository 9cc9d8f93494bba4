#!/usr/bin/env node
// The client side of native-bench/trace-hooks.js, run in a small process of its own: a process spawn and the native
// client's round trip (`call hello`) against the daemon of $MNEMO_HOME. Prints its rows as JSON.
import { NATIVE_CLIENT, stats, timeProcess } from './lib.js';

const runs = Number(process.argv[2] ?? 100);
const spawnOnly = [];
const hello = [];
for (let i = 0; i < runs; i++) {
  spawnOnly.push((await timeProcess(['/bin/true'], process.env)).ms);
  hello.push((await timeProcess([NATIVE_CLIENT, 'call', 'hello'], process.env)).ms);
}
const rows = [
  ['spawn /bin/true', spawnOnly],
  ['native client: spawn, connect, one frame each way (call hello)', hello],
].map(([step, xs]) => ({ event: 'client', step, median: stats(xs).median, p99: stats(xs).p99 }));
console.log(JSON.stringify(rows));
