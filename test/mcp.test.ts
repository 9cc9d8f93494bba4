import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens } from '../dist/engine-index.js';
import { cleanup, CLI, NATIVE_CLIENT, testEnv } from './helpers/daemon.js';

const text = (r: unknown) => (r as { content: { type: string; text: string }[] }).content[0]?.text ?? '';

describe('mnemo mcp, driven by the MCP SDK client over stdio', () => {
  const env = testEnv();
  let client: Client;
  beforeAll(async () => {
    client = new Client({ name: 'mnemo-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp'],
        env: env as Record<string, string>,
        stderr: 'ignore',
      }),
    );
  });
  afterAll(async () => {
    await client?.close();
    spawnSync(process.execPath, [CLI, 'stop'], { env });
    cleanup(env);
  });

  it('lists the tools users of mcp-memory-service know, and the memory_* style', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(
      [
        'check_database_health',
        'delete_memory',
        'memory_delete',
        'memory_get',
        'memory_health',
        'memory_search',
        'memory_store',
        'recall_memory',
        'retrieve_memory',
        'search_by_tag',
        'store_memory',
      ].sort(),
    );
  });

  it('calls each tool against the daemon (started on demand) and answers in compact text', async () => {
    const stored = text(
      await client.callTool({
        name: 'store_memory',
        arguments: {
          content: 'Refunds are computed in integer cents',
          tags: ['decision', 'money'],
          memory_type: 'decision',
        },
      }),
    );
    expect(stored).toMatch(/^stored [0-9a-f]{8} \[decision, money\]$/);
    const hash = stored.split(' ')[1]!;
    expect(
      text(
        await client.callTool({
          name: 'memory_store',
          arguments: { content: 'The refund webhook retries three times', tags: ['webhook'] },
        }),
      ),
    ).toMatch(/^stored/);
    for (let i = 0; i < 6; i++)
      await client.callTool({
        name: 'memory_store',
        arguments: { content: `refund note number ${i} about cents and webhooks`, tags: ['bulk'] },
      });
    const found = text(
      await client.callTool({ name: 'retrieve_memory', arguments: { query: 'refunds integer cents', n_results: 3 } }),
    );
    expect(found.split('\n').length).toBe(3);
    expect(
      text(
        await client.callTool({
          name: 'memory_search',
          arguments: { query: 'refund webhook retries', mode: 'keyword', limit: 1 },
        }),
      ),
    ).toMatch(/The refund webhook retries three times/);
    expect(text(await client.callTool({ name: 'search_by_tag', arguments: { tags: ['money'] } }))).toMatch(
      /Refunds are computed in integer cents/,
    );
    expect(
      text(await client.callTool({ name: 'recall_memory', arguments: { time: 'today', n_results: 20 } })).split('\n')
        .length,
    ).toBe(8);
    // mcp-memory-service's shape: the time expression in `query`, alone or inside a question.
    expect(
      text(await client.callTool({ name: 'recall_memory', arguments: { query: 'today', n_results: 20 } })).split('\n')
        .length,
    ).toBe(8);
    expect(
      text(
        await client.callTool({
          name: 'recall_memory',
          arguments: { query: 'what did we note today: the refund webhook retries three times', n_results: 3 },
        }),
      ),
    ).toMatch(/The refund webhook retries three times/);
    expect(text(await client.callTool({ name: 'memory_get', arguments: { hash } }))).toMatch(
      /^hash {5}[0-9a-f]{64}\ntype {5}decision/,
    );
    expect(text(await client.callTool({ name: 'check_database_health', arguments: {} }))).toMatch(/memories: 8/);
    expect(text(await client.callTool({ name: 'memory_health', arguments: {} }))).toMatch(/status: ok/);
    expect(
      text(await client.callTool({ name: 'delete_memory', arguments: { tags: ['bulk'], dry_run: true } })),
    ).toMatch(/^would delete 6 memories/);
    expect(text(await client.callTool({ name: 'memory_delete', arguments: { content_hash: hash } }))).toMatch(
      /^moved 1 memory to the trash/,
    );
  });

  it('returns errors as MCP tool errors with the daemon code and message', async () => {
    const missing = await client.callTool({ name: 'memory_get', arguments: { hash: 'ffffffff' } });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/^E_NOT_FOUND: no memory has a hash starting with ffffffff/);
    const badTime = await client.callTool({ name: 'recall_memory', arguments: { time: 'the day the music died' } });
    expect(badTime.isError).toBe(true);
    expect(text(badTime)).toMatch(/^E_BAD_ARGS: could not understand the time/);
    const empty = await client.callTool({ name: 'delete_memory', arguments: {} });
    expect(text(empty)).toMatch(/refusing to delete with an empty filter/);
    // Arguments of the wrong type are refused by the schema before they reach the daemon.
    const wrong = await client
      .callTool({ name: 'retrieve_memory', arguments: { query: 42 } })
      .catch((e: Error) => ({ isError: true, content: [{ type: 'text', text: e.message }] }));
    expect(wrong.isError).toBe(true);
    // The refusal names the argument and what was wrong with it (not any failure, such as a closed connection).
    expect(text(wrong)).toMatch(/query/);
    expect(text(wrong)).toMatch(/string/i);
    // And the server still answers afterwards.
    expect(text(await client.callTool({ name: 'memory_health', arguments: {} }))).toMatch(/status: ok/);
  });

  it('costs about what the native client costs for a 5-result search', async () => {
    for (let i = 0; i < 5; i++)
      await client.callTool({
        name: 'memory_store',
        arguments: {
          content:
            `Payment gateway timeout handling note ${i}: retries use exponential backoff with jitter ` +
            'and stop after three attempts so a declined card is never charged twice.',
          tags: ['payments'],
        },
      });
    const viaMcp = await client.callTool({
      name: 'retrieve_memory',
      arguments: { query: 'payment gateway timeouts', n_results: 5 },
    });
    const native = spawnSync(NATIVE_CLIENT, ['call', 'search', '{"query":"payment gateway timeouts","limit":5}'], {
      env,
      encoding: 'utf8',
    });
    const mcpTokens = countTokens(JSON.stringify(viaMcp));
    const nativeTokens = countTokens(native.stdout);
    console.log(
      `5-result search: MCP tool result ${mcpTokens} tokens (JSON envelope included), ` +
        `native client text ${nativeTokens} tokens`,
    );
    expect(nativeTokens).toBeGreaterThan(0);
    expect(mcpTokens).toBeLessThan(nativeTokens * 1.5);
  });
});
