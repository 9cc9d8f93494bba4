import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { connect, type MnemoClient } from '../client/client.js';
import { MnemoError } from '../errors.js';
import type { Op } from '../protocol/op-names.js';
import { VERSION } from '../version.js';

/**
 * The MCP tools: each forwards to one daemon operation and answers with the daemon's compact text, the same few
 * tokens the hooks use. Names and argument shapes are those users of mcp-memory-service already know (store_memory,
 * retrieve_memory, recall_memory with the time in `query`, ...), plus the newer `memory_*` style. Operations with no
 * tool say why in the op table (protocol/ops.ts, `notInMcp`).
 */
export interface McpTool {
  names: string[];
  op: Op;
  description: string;
  input: z.ZodRawShape;
  /** The tool's arguments as the op's. */
  args(a: Record<string, unknown>): Record<string, unknown>;
}

const tags = z.array(z.string()).optional().describe('tags (any case; stored lower-case)');

export const MCP_TOOLS: McpTool[] = [
  {
    names: ['store_memory', 'memory_store'],
    op: 'store',
    description: 'Store a memory. Returns its short hash.',
    input: {
      content: z.string().describe('the text to remember'),
      tags,
      memory_type: z.string().optional().describe('note, decision, observation, ...'),
      metadata: z.record(z.unknown()).optional(),
      project: z.string().optional().describe('the project folder this belongs to'),
    },
    args: (a) => ({ content: a.content, tags: a.tags, type: a.memory_type, metadata: a.metadata, project: a.project }),
  },
  {
    names: ['retrieve_memory', 'memory_search'],
    op: 'search',
    description:
      'Find memories relevant to a query (hybrid semantic + keyword). One line each: hash, age, score, tags, preview.',
    input: {
      query: z.string().describe('what to look for'),
      n_results: z.number().int().min(1).max(100).optional(),
      limit: z.number().int().min(1).max(100).optional(),
      mode: z.enum(['hybrid', 'semantic', 'keyword']).optional(),
      tags,
      project: z.string().optional(),
      min_score: z.number().min(0).max(1).optional(),
    },
    args: (a) => ({
      query: a.query,
      limit: a.limit ?? a.n_results ?? 5,
      mode: a.mode,
      tags: a.tags,
      project: a.project,
      minScore: a.min_score,
    }),
  },
  {
    names: ['search_by_tag'],
    op: 'searchByTag',
    description: 'Memories carrying any of the tags (all of them with match_all), newest first.',
    input: {
      tags: z.array(z.string()).min(1),
      match_all: z.boolean().optional(),
      limit: z.number().int().min(1).max(100).optional(),
    },
    args: (a) => ({ tags: a.tags, tagMode: a.match_all ? 'all' : undefined, limit: a.limit }),
  },
  {
    names: ['recall_memory'],
    op: 'recall',
    description:
      'Memories from a time in words ("yesterday", "last week", "past 3 days"): give it as `query`, alone or inside ' +
      'a question ("what did we decide last week about auth"), or as `time` with `query` as what to look for.',
    input: {
      query: z.string().optional().describe('a time expression ("last week"), or a question holding one'),
      time: z.string().optional().describe('the time expression, when `query` is only what to look for'),
      n_results: z.number().int().min(1).max(100).optional(),
    },
    args: (a) => ({ time: a.time, query: a.query, limit: a.n_results }),
  },
  {
    names: ['memory_get'],
    op: 'get',
    description: 'One memory in full, by hash or a unique prefix of 6 or more characters.',
    input: { hash: z.string() },
    args: (a) => ({ hash: a.hash }),
  },
  {
    names: ['delete_memory', 'memory_delete'],
    op: 'delete',
    description: 'Delete a memory by hash, or memories by tags (dry_run reports only).',
    input: {
      content_hash: z.string().optional().describe('hash or unique prefix'),
      tags: z.array(z.string()).optional(),
      dry_run: z.boolean().optional(),
    },
    args: (a) => ({ hash: a.content_hash, tags: a.tags, dryRun: a.dry_run }),
  },
  {
    names: ['check_database_health', 'memory_health'],
    op: 'health',
    description: 'Database and model status, counts, size.',
    input: {},
    args: () => ({}),
  },
];

/** `mnemo mcp`: a stdio MCP server forwarding every tool call to the daemon (starting it if needed). */
export async function runMcpServer(): Promise<void> {
  let client: MnemoClient | null = null;
  const daemon = async (): Promise<MnemoClient> => {
    // A connection the daemon closed (a restart, or an idle connection closed to make room) is replaced.
    if (!client || client.closed) client = await connect({ autostart: true, timeoutMs: 60_000 });
    return client;
  };
  /** One daemon call rendered as text; the daemon's errors become MCP tool errors with its code and message. */
  const call = async (op: Op, args: Record<string, unknown>) => {
    try {
      const text = await (await daemon()).request(op, withoutUndefined(args), { render: 'text' });
      return { content: [{ type: 'text' as const, text }] };
    } catch (err) {
      if (!(err instanceof MnemoError)) throw err;
      return { content: [{ type: 'text' as const, text: `${err.code}: ${err.message}` }], isError: true };
    }
  };

  const server = new McpServer({ name: 'mnemo', version: VERSION });
  for (const tool of MCP_TOOLS) {
    for (const name of tool.names) {
      server.registerTool(
        name,
        { description: tool.description, inputSchema: tool.input },
        (a: Record<string, unknown>) => call(tool.op, tool.args(a)),
      );
    }
  }

  const transport = new StdioServerTransport();
  // The MCP client owns this process: when it closes stdin, the server (and its daemon connection) goes.
  process.stdin.once('end', () => {
    client?.close();
    process.exit(0);
  });
  await server.connect(transport);
}

const withoutUndefined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
