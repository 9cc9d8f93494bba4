import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/packs.js';

interface Row {
  key: string;
  value: number;
  unit: string;
  ref?: string;
  target?: { op: string; value: number };
  pass?: boolean;
}

describe('the benchmark harness (smoke configuration: well-formed results, not timings)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnemo-bench-test-'));
  const out = join(dir, 'smoke.json');

  it('runs every section and writes one JSON result', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'native-bench', 'run.js'), '--smoke', '--json', out], {
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...process.env,
        MNEMO_HOME: dir,
        // A stand-in for another memory system's hook command: reads the payload, checks the event went in.
        MNEMO_BENCH_PEER_HOOK: `grep -q '"hook_event_name":"{event}"' && echo {event} >> ${join(dir, 'peer.log')}`,
        MNEMO_BENCH_PEER_NAME: 'stand-in peer',
      },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mnemo bench — /m);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[]; machine: string; smoke: boolean };
    expect(result.smoke).toBe(true);
    expect(result.machine).toMatch(/cores/);
    const keys = result.rows.map((row) => row.key);
    for (const expected of [
      'engine: embed 1 short text',
      'engine: protocol encode (5 results)',
      'engine: context render (8 memories, 600 tokens)',
      'engine: search hybrid @1000',
      'engine: semantic recall@10 vs exact @1000',
      'tokens: 5-result compact search as text (cl100k, 200-char previews)',
      'hook SessionStart: native client, new process',
      'hook PostToolUse: native client, new process',
      'hook SessionStart: Node.js client, new process',
      'hook SessionStart: per-hook-process baseline (opens db, loads model)',
      'speed-up on SessionStart: baseline / daemon with native client',
      'ingest: acknowledged events missing from the database',
      'daemon: mnemo start -> ready (@10k memories)',
      'engine: vector index load @1000',
      ...['SessionStart', 'UserPromptSubmit', 'PostToolUse', 'Stop', 'SessionEnd'].map(
        (event) => `hook ${event}: stand-in peer, new process`,
      ),
    ]) {
      expect(keys, expected).toContain(expected);
    }
    for (const row of result.rows) {
      expect(Number.isFinite(row.value), row.key).toBe(true);
      if (row.ref) expect(keys, `${row.key} refers to ${row.ref}`).toContain(row.ref);
      if (row.target) expect(typeof row.pass, row.key).toBe('boolean');
    }
    // The peer's hook ran once per event and run, each given its own event's payload.
    const peerRuns = readFileSync(join(dir, 'peer.log'), 'utf8').trim().split('\n');
    expect(peerRuns.length).toBe(15);
    expect(new Set(peerRuns)).toEqual(
      new Set(['SessionStart', 'UserPromptSubmit', 'PostToolUse', 'Stop', 'SessionEnd']),
    );
    // Correctness, not speed: no acknowledged event may be lost, and the quantised search must find the exact top 10.
    expect(result.rows.find((row) => row.key === 'ingest: acknowledged events missing from the database')!.value).toBe(
      0,
    );
    expect(
      result.rows.find((row) => row.key === 'engine: semantic recall@10 vs exact @1000')!.value,
    ).toBeGreaterThanOrEqual(0.95);
  }, 300_000);

  it('passes against itself and fails on a regression beyond the tolerance', () => {
    const check = (current: string) =>
      spawnSync(process.execPath, [join(REPO, 'native-bench', 'check.js'), '--current', current, '--baseline', out], {
        encoding: 'utf8',
      });
    const same = check(out);
    expect(same.status, same.stdout).toBe(0);
    expect(same.stdout).toMatch(/no regressions in \d+ rows/);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
    const slower = join(dir, 'slower.json');
    for (const row of result.rows) if (row.key === 'engine: protocol encode (5 results)') row.value *= 3;
    writeFileSync(slower, JSON.stringify(result));
    const bad = check(slower);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^REGRESSED +engine: protocol encode \(5 results\)/m);
    // A relative row: slower only because its in-run reference is slower too is no regression.
    const both = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
    for (const row of both.rows)
      if (row.key === 'engine: search hybrid @1000' || row.key === 'engine: exact knn @1000') row.value *= 3;
    const noisy = join(dir, 'noisy.json');
    writeFileSync(noisy, JSON.stringify(both));
    expect(check(noisy).stdout).toMatch(/^ok +engine: search hybrid @1000/m);
    // A run on another kind of machine is said to be one; the same machine is not.
    expect(same.stdout).not.toMatch(/the baseline ran on/);
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(
      elsewhere,
      JSON.stringify({ ...result, machine: '2 cores (Another CPU), 8 GiB, node v24.0.0, linux' }),
    );
    const moved = check(elsewhere);
    expect(moved.stdout).toMatch(/^bench:check: the baseline ran on .+, this run on 2 cores \(Another CPU\)/m);
  });
});
