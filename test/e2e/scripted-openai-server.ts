// A scripted OpenAI-compatible server on loopback for end-to-end tests that need a known reply.
// The synthetic model has random weights, so a reply that must hold two fenced blocks naming files
// (Apply All) cannot come from it. The extension's remote mode (qwenLocal.remoteUrl) is the
// product's own way to take replies from another server: the chat view, the language server's
// prompt fitting and workspace retrieval all run as for the local engine, and only the last hop
// answers from this script. Every chat request is recorded, so a test can check what the language
// server actually put into the prompt (an attached file, retrieved chunks).
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface RecordedChat {
  messages: Array<{ role: string; content: string }>;
  stream: boolean;
}

export interface ScriptedOpenAiServer {
  /** Base URL for qwenLocal.remoteUrl (ends in /v1). */
  url: string;
  chats: RecordedChat[];
  close(): Promise<void>;
}

/** `reply` picks the answer to a chat from its messages. */
export async function startScriptedOpenAiServer(reply: (messages: RecordedChat['messages']) => string): Promise<ScriptedOpenAiServer> {
  const chats: RecordedChat[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url === '/v1/models') return send(200, { object: 'list', data: [{ id: 'scripted', object: 'model' }] });
      if (req.method !== 'POST') return send(404, { error: { message: `no ${req.method} ${req.url}` } });
      let body: { messages?: RecordedChat['messages']; stream?: boolean };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return send(400, { error: { message: 'the body is not JSON' } });
      }
      // Inline completions (FIM) get no text: these tests are about the chat.
      const text = req.url === '/v1/chat/completions' ? reply(body.messages ?? []) : '';
      if (req.url === '/v1/chat/completions') chats.push({ messages: body.messages ?? [], stream: body.stream === true });
      const usage = { prompt_tokens: 10, completion_tokens: text.length, total_tokens: 10 + text.length };
      const chat = req.url === '/v1/chat/completions';
      if (!body.stream) {
        const choice = chat ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' } : { index: 0, text, finish_reason: 'stop' };
        return send(200, { id: 'scripted-1', object: chat ? 'chat.completion' : 'text_completion', choices: [choice], usage });
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      // In pieces of a few lines, as a model streams, so the view renders partial replies too.
      const pieces = text.match(/[^\n]*\n?[^\n]*\n?/g)?.filter((p) => p !== '') ?? [];
      const event = (delta: string, finish: string | null) =>
        chat
          ? { id: 'scripted-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: delta }, finish_reason: finish }] }
          : { id: 'scripted-1', object: 'text_completion', choices: [{ index: 0, text: delta, finish_reason: finish }] };
      let i = 0;
      const next = () => {
        if (i < pieces.length) {
          res.write(`data: ${JSON.stringify(event(pieces[i++], null))}\n\n`);
          setTimeout(next, 30);
          return;
        }
        res.write(`data: ${JSON.stringify({ ...event('', 'stop'), usage })}\n\n`);
        res.end('data: [DONE]\n\n');
      };
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    chats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
