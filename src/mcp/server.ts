import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { connect, type MnemoClient } from '../client/client.js';
import { VERSION } from '../version.js';
import { MnemoError } from '../errors.js';

/**
 * `mnemo mcp`: a stdio MCP server that forwards every tool call to the daemon (starting it if needed) and answers
 * with the daemon's compact text, the same few tokens the hooks use. Tool names are those users of
 * mcp-memory-service already know, plus the newer `memory_*` style.
 */
export async function runMcpServer(): Promise<void> {
  let client: MnemoClient | null = null;
  const daemon = async (): Promise<MnemoClient> => {
    client ??= await connect({ autostart: true, timeoutMs: 60_000 });
    return client;
  };
  /** One daemon call rendered as text; the daemon's errors become MCP tool errors with its code and message. */
  const call = async (op: string, args: Record<string, unknown>) => {
    try {
      const text = await (await daemon()).request<string>(op, args, { render: 'text' });
      return { content: [{ type: 'text' as const, text }] };
    } catch (err) {
      if (err instanceof MnemoError && err.code === 'E_CLOSED') client = null;
      const e = err as MnemoError;
      return { content: [{ type: 'text' as const, text: `${e.code ?? 'E_INTERNAL'}: ${e.message}` }], isError: true };
    }
  };
  const drop = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

  const server = new McpServer({ name: 'mnemo', version: VERSION });
  const tags = z.array(z.string()).optional().describe('tags (any case; stored lower-case)');

  const store = async (a: { content: string; tags?: string[] | undefined; memory_type?: string | undefined; type?: string | undefined; metadata?: Record<string, unknown> | undefined; project?: string | undefined }) =>
    call('store', drop({ content: a.content, tags: a.tags, type: a.memory_type ?? a.type, metadata: a.metadata, project: a.project }));
  const storeSchema = {
    content: z.string().describe('the text to remember'),
    tags,
    memory_type: z.string().optional().describe('note, decision, observation, ...'),
    metadata: z.record(z.unknown()).optional(),
    project: z.string().optional().describe('the project folder this belongs to'),
  };
  server.registerTool('store_memory', { description: 'Store a memory. Returns its short hash.', inputSchema: storeSchema }, store);
  server.registerTool('memory_store', { description: 'Store a memory. Returns its short hash.', inputSchema: storeSchema }, store);

  const searchSchema = {
    query: z.string().describe('what to look for'),
    n_results: z.number().int().min(1).max(100).optional(),
    limit: z.number().int().min(1).max(100).optional(),
    mode: z.enum(['hybrid', 'semantic', 'keyword']).optional(),
    tags,
    project: z.string().optional(),
    min_score: z.number().min(0).max(1).optional(),
  };
  const search = async (a: { query: string; n_results?: number | undefined; limit?: number | undefined; mode?: string | undefined; tags?: string[] | undefined; project?: string | undefined; min_score?: number | undefined }) =>
    call('search', drop({ query: a.query, limit: a.limit ?? a.n_results ?? 5, mode: a.mode, tags: a.tags, project: a.project, minScore: a.min_score }));
  server.registerTool('retrieve_memory', { description: 'Find memories relevant to a query (hybrid semantic + keyword). One line each: hash, age, score, tags, preview.', inputSchema: searchSchema }, search);
  server.registerTool('memory_search', { description: 'Find memories relevant to a query (hybrid semantic + keyword). One line each: hash, age, score, tags, preview.', inputSchema: searchSchema }, search);

  server.registerTool(
    'search_by_tag',
    { description: 'Memories carrying any of the tags (all of them with match_all), newest first.', inputSchema: { tags: z.array(z.string()).min(1), match_all: z.boolean().optional(), limit: z.number().int().min(1).max(100).optional() } },
    (a) => call('searchByTag', drop({ tags: a.tags, tagMode: a.match_all ? 'all' : 'any', limit: a.limit })),
  );
  server.registerTool(
    'recall_memory',
    {
      description: 'Memories from a time in words ("yesterday", "last week", "past 3 days"), optionally ranked by a query.',
      inputSchema: { time: z.string().describe('a time expression'), query: z.string().optional(), n_results: z.number().int().min(1).max(100).optional() },
    },
    (a) => call('recall', drop({ time: a.time, query: a.query, limit: a.n_results })),
  );
  server.registerTool(
    'memory_get',
    { description: 'One memory in full, by hash or a unique prefix of 6 or more characters.', inputSchema: { hash: z.string() } },
    (a) => call('get', { hash: a.hash }),
  );
  const deleteSchema = { content_hash: z.string().optional().describe('hash or unique prefix'), tags: z.array(z.string()).optional(), dry_run: z.boolean().optional() };
  const del = (a: { content_hash?: string | undefined; tags?: string[] | undefined; dry_run?: boolean | undefined }) =>
    call('delete', drop({ hash: a.content_hash, tags: a.tags, dryRun: a.dry_run }));
  server.registerTool('delete_memory', { description: 'Delete a memory by hash, or memories by tags (dry_run reports only).', inputSchema: deleteSchema }, del);
  server.registerTool('memory_delete', { description: 'Delete a memory by hash, or memories by tags (dry_run reports only).', inputSchema: deleteSchema }, del);
  const health = () => call('health', {});
  server.registerTool('check_database_health', { description: 'Database and model status, counts, size.', inputSchema: {} }, health);
  server.registerTool('memory_health', { description: 'Database and model status, counts, size.', inputSchema: {} }, health);

  const transport = new StdioServerTransport();
  // The MCP client owns this process: when it closes stdin, the server (and its daemon connection) goes.
  process.stdin.once('end', () => {
    client?.close();
    process.exit(0);
  });
  await server.connect(transport);
}
