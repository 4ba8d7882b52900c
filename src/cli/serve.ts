// `qwen-local serve --stdio`: the language server on stdin/stdout (src/server), the same process
// the VS Code extension starts.
import { Args, UsageError } from './args';
import { Command } from './common';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the language server over stdio',
  usage: '--stdio',
  options: {
    stdio: { kind: 'flag', description: 'talk LSP over stdin/stdout (the only transport)' },
  },
  async run(args: Args) {
    if (!args.flag('stdio')) throw new UsageError('serve needs --stdio (the only transport)');
    // Loaded only here: the server pulls in the LSP libraries, which no other command needs.
    const { startServer } = await import('../server/main');
    await startServer({ transport: 'stdio' });
    // The server keeps the process alive until the client disconnects.
    return undefined;
  },
};
