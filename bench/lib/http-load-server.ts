// The server side of bench/http-load.ts, in a process of its own so its RSS is the server's
// alone: loads the model, serves it on 127.0.0.1 with startHttpServer (what `serve --http` runs),
// and answers the parent's IPC questions: {type: 'stats', drop} -> KV, slots, admitted requests and
// RSS; {type: 'close'} -> shuts down and exits.
//   (forked by bench/http-load.ts with: MODEL CTX THREADS MAX_QUEUE)
import { loadModel } from '../../src/engine/model';
import { startHttpServer } from '../../src/openai/server';

async function main(): Promise<void> {
  const [modelPath, ctx, threads, maxQueue] = process.argv.slice(2);
  const model = await loadModel(modelPath, { threads: Number(threads), contextSize: Number(ctx) });
  const server = await startHttpServer({ model, host: '127.0.0.1', port: 0, maxQueue: Number(maxQueue) });
  process.on('message', (m: { type: string; drop?: boolean }) => {
    if (m.type === 'stats') {
      process.send!({ type: 'stats', stats: server.debugStats({ dropIdleCaches: m.drop === true }), rssBytes: process.memoryUsage().rss });
    } else if (m.type === 'close') {
      void server
        .close()
        .then(() => model.dispose())
        .then(() => process.exit(0));
    }
  });
  process.send!({ type: 'ready', url: server.url });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
