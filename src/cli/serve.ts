// `qwen-local serve`: two transports for two kinds of client.
//  --stdio: the language server on stdin/stdout (src/server), the same process the VS Code
//           extension starts.
//  --http:  an OpenAI-compatible API (src/openai) so other tools can use the same engine. It binds
//           127.0.0.1 unless --host says otherwise: the API has no authentication.
import { Args, UsageError } from './args';
import { Command, DEVICE_OPTION, deviceFromArgs } from './common';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the language server over stdio, or an OpenAI-compatible HTTP API',
  usage: '--stdio | --http --model FILE [--port N] [--host 127.0.0.1] [--threads N] [--device auto|cpu|cuda] [--ctx N]',
  options: {
    stdio: { kind: 'flag', description: 'talk LSP over stdin/stdout (what editors start)' },
    http: { kind: 'flag', description: 'serve /v1/models, /v1/completions and /v1/chat/completions over HTTP' },
    model: { kind: 'string', alias: '-m', description: 'GGUF model file (required with --http)' },
    host: { kind: 'string', description: 'address to listen on with --http (default 127.0.0.1, loopback only)' },
    port: { kind: 'int', min: 0, max: 65535, description: 'port for --http (default 8080; 0 picks a free one)' },
    threads: { kind: 'int', alias: '-t', min: 0, max: 256, description: 'compute threads with --http (0 = physical cores)' },
    ctx: { kind: 'int', alias: '-c', min: 16, description: 'KV cache size in tokens with --http' },
    device: { ...DEVICE_OPTION, description: `${DEVICE_OPTION.description}; with --stdio it overrides the client's qwenLocal.device setting` },
  },
  async run(args: Args) {
    const stdio = args.flag('stdio');
    const http = args.flag('http');
    if (stdio === http) throw new UsageError('serve needs exactly one of --stdio (language server) or --http (OpenAI-compatible API)');
    const device = deviceFromArgs(args);
    if (stdio) {
      // Loaded only here: the server pulls in the LSP libraries, which no other command needs.
      const { startServer } = await import('../server/main');
      await startServer({ transport: 'stdio', device: args.string('device') !== undefined ? device : undefined });
      // The server keeps the process alive until the client disconnects.
      return undefined;
    }
    const modelPath = args.string('model');
    if (!modelPath) throw new UsageError('serve --http needs --model FILE (the GGUF model to serve)');
    const { serveHttpUntilSignal } = await import('../openai/serve-http');
    await serveHttpUntilSignal({
      modelPath,
      host: args.string('host', '127.0.0.1'),
      port: args.int('port', 8080),
      threads: args.int('threads', 0),
      device,
      contextSize: args.int('ctx'),
    });
    return 0;
  },
};
