import type { Command } from '../command.js';

export const mcp: Command = {
  name: 'mcp',
  usage: '',
  summary: 'a stdio MCP server for agents that speak MCP (store_memory, retrieve_memory, memory_search, ...)',
  flags: [],
  async run() {
    // stdio belongs to the MCP protocol from here on; the server runs until its client closes stdin.
    const { runMcpServer } = await import('../../mcp/server.js');
    await runMcpServer();
    return new Promise<number>(() => {});
  },
};
