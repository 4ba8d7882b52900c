// `qwen-local serve`: two transports for two kinds of client.
//  --stdio: the language server on stdin/stdout (src/server), the same process the VS Code
//           extension starts.
//  --http:  an OpenAI-compatible API (src/openai) so other tools can use the same engine. It binds
//           127.0.0.1 unless --host says otherwise, and refuses any other address without an API
//           key (--api-key or QWEN_LOCAL_API_KEY) unless --insecure-no-auth says the network is trusted.
import { API_KEY_ENV } from '../openai/access-policy';
import { Args, UsageError } from './args';
import { Command, DEVICE_OPTION, deviceFromArgs } from './common';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the language server over stdio, or an OpenAI-compatible HTTP API',
  usage:
    '--stdio | --http --model FILE [--port N] [--host 127.0.0.1] [--api-key KEY] [--allow-host NAME]... ' +
    '[--cors-origin ORIGIN]... [--insecure-no-auth] [--threads N] [--device auto|cpu|cuda] [--ctx N] [--max-queue N] ' +
    '[--max-tokens N] [--idle-timeout S] [--request-timeout S]',
  options: {
    stdio: { kind: 'flag', description: 'talk LSP over stdin/stdout (what editors start)' },
    http: { kind: 'flag', description: 'serve /v1/models, /v1/completions and /v1/chat/completions over HTTP' },
    model: { kind: 'string', alias: '-m', description: 'GGUF model file (required with --http)' },
    host: { kind: 'string', description: 'address to listen on with --http (default 127.0.0.1, loopback only)' },
    port: { kind: 'int', min: 0, max: 65535, description: 'port for --http (default 8080; 0 picks a free one)' },
    'api-key': { kind: 'string', description: `require "Authorization: Bearer KEY" on every route but /health (or set ${API_KEY_ENV})` },
    'allow-host': { kind: 'string', repeatable: true, description: 'also answer requests whose Host header names NAME (default: loopback names only)' },
    'cors-origin': { kind: 'string', repeatable: true, description: 'let web pages from ORIGIN (scheme://host[:port]) call the API (default: none)' },
    'insecure-no-auth': { kind: 'flag', description: 'allow a non-loopback --host without an API key' },
    threads: { kind: 'int', alias: '-t', min: 0, max: 256, description: 'compute threads with --http (0 = physical cores)' },
    ctx: { kind: 'int', alias: '-c', min: 16, description: 'KV cache size in tokens with --http' },
    'max-queue': { kind: 'int', min: 1, max: 10000, description: 'generation requests held at once, running or waiting; more get 429 (default 16)' },
    'max-tokens': { kind: 'int', min: 1, description: 'most tokens one request may generate (default: the context size)' },
    'idle-timeout': { kind: 'int', min: 1, max: 3600, description: 'seconds a client may stay silent while sending a request (default 30)' },
    'request-timeout': { kind: 'int', min: 1, max: 86400, description: 'seconds one generation request may take, waiting included (default 600)' },
    device: { ...DEVICE_OPTION, description: `${DEVICE_OPTION.description}; with --stdio it overrides the client's qwenLocal.device setting` },
  },
  async run(args: Args) {
    const stdio = args.flag('stdio');
    const http = args.flag('http');
    if (stdio === http) throw new UsageError('serve needs exactly one of --stdio (language server) or --http (OpenAI-compatible API)');
    const device = deviceFromArgs(args);
    if (stdio) {
      // Loaded only here: the server pulls in the LSP libraries, which no other command needs.
      const { startServer } = await import('../server/main.js');
      await startServer({ transport: 'stdio', device: args.string('device') !== undefined ? device : undefined });
      // The server keeps the process alive until the client disconnects.
      return undefined;
    }
    const modelPath = args.string('model');
    if (!modelPath) throw new UsageError('serve --http needs --model FILE (the GGUF model to serve)');
    const envKey = process.env[API_KEY_ENV];
    const apiKey = args.string('api-key') ?? (envKey !== undefined && envKey !== '' ? envKey : undefined);
    const seconds = (name: string): number | undefined => {
      const s = args.int(name);
      return s === undefined ? undefined : s * 1000;
    };
    const { serveHttpUntilSignal } = await import('../openai/serve-http.js');
    await serveHttpUntilSignal({
      modelPath,
      host: args.string('host', '127.0.0.1'),
      port: args.int('port', 8080),
      threads: args.int('threads', 0),
      device,
      contextSize: args.int('ctx'),
      apiKey,
      insecureNoAuth: args.flag('insecure-no-auth'),
      allowHosts: args.strings('allow-host'),
      corsOrigins: args.strings('cors-origin'),
      maxQueue: args.int('max-queue'),
      maxTokens: args.int('max-tokens'),
      idleTimeoutMs: seconds('idle-timeout'),
      requestTimeoutMs: seconds('request-timeout'),
    });
    return 0;
  },
};
