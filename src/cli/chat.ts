// `qwen-local chat --model F`: an interactive chat on the terminal. Each turn renders the whole
// conversation through the model's chat template, and generate() reuses the KV cache of the
// previous turns, so only the new user message is evaluated. /reset starts over, /exit quits.
import * as readline from 'readline';
import { generate } from '../engine/generate';
import { renderChatPrompt } from '../engine/chat-template';
import { encodeChatPrompt } from '../engine/chat-prompt-tokens';
import { Args } from './args';
import { Command, MODEL_OPTIONS, openModel, SAMPLING_OPTIONS, samplingFromArgs } from './common';

interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export const chatCommand: Command = {
  name: 'chat',
  summary: 'chat with the model on the terminal (keeps the KV cache between turns)',
  usage: '--model F [--system S] [-n 512] [--threads N] [--ctx N] [sampling options]',
  options: {
    ...MODEL_OPTIONS,
    system: { kind: 'string', description: 'system message' },
    'n-predict': { kind: 'int', alias: '-n', min: 1, description: 'most tokens per answer (default 512)' },
    ...SAMPLING_OPTIONS,
  },
  async run(args: Args) {
    const model = await openModel(args);
    const seq = model.createSequence();
    const sampling = samplingFromArgs(args);
    const maxTokens = args.int('n-predict', 512);
    const system = args.string('system');
    const fresh = (): ChatMessage[] => (system ? [{ role: 'system', content: system }] : []);
    let messages = fresh();
    const interactive = process.stdin.isTTY === true;
    const rl = readline.createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined });
    let current: AbortController | null = null;
    // Ctrl-C stops the answer being written; a second one at the prompt quits.
    rl.on('SIGINT', () => {
      if (current) current.abort();
      else rl.close();
    });
    if (interactive) process.stdout.write(`${model.info.name} — /reset to start over, /exit to quit\n`);
    try {
      rl.setPrompt('> ');
      if (interactive) rl.prompt();
      for await (const line of rl) {
        const text = line.trim();
        if (text === '/exit' || text === '/quit') break;
        if (text === '/reset') {
          messages = fresh();
          seq.truncate(0);
          if (interactive) rl.prompt();
          continue;
        }
        if (text.length === 0) {
          if (interactive) rl.prompt();
          continue;
        }
        messages.push({ role: 'user', content: line });
        // Typed or pasted text stays plain text: control tokens come only from the template.
        const tokens = encodeChatPrompt(model.tokenizer, renderChatPrompt, model.chatTemplate, messages);
        current = new AbortController();
        const result = await generate(model, seq, tokens, {
          maxTokens,
          sampling,
          signal: current.signal,
          onText: (t) => {
            process.stdout.write(t);
          },
        });
        current = null;
        process.stdout.write('\n');
        if (result.stopReason === 'contextFull') {
          process.stderr.write('qwen-local: the context is full; use /reset or a larger --ctx\n');
        }
        messages.push({ role: 'assistant', content: result.text });
        if (interactive) rl.prompt();
      }
    } finally {
      rl.close();
      seq.dispose();
      await model.dispose();
    }
    return 0;
  },
};
