// Entry point of the `qwen-local` command (bin/qwen-local.js): picks the command, parses its
// options, runs it. User errors (bad options, missing or broken files) print one line,
// `qwen-local: <message>`, and exit with code 1; only unexpected internal errors show a stack,
// and only with QWEN_DEBUG=1.
import { Args, describeOptions, parseArgs, UsageError } from './args';
import { benchCommand } from './bench';
import { chatCommand } from './chat';
import { Command } from './common';
import { infoCommand } from './info';
import { logitsCommand } from './logits';
import { perplexityCommand } from './perplexity';
import { quantizeCommand } from './quantize';
import { runCommand } from './run';
import { serveCommand } from './serve';
import { tokenizeCommand } from './tokenize';

export const COMMANDS: readonly Command[] = [
  infoCommand,
  tokenizeCommand,
  runCommand,
  chatCommand,
  logitsCommand,
  perplexityCommand,
  benchCommand,
  quantizeCommand,
  serveCommand,
];

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(11)} ${c.summary}`);
  return `usage: qwen-local <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` + `run 'qwen-local help <command>' for a command's options\n`;
}

function commandHelp(c: Command): string {
  const opts = Object.keys(c.options).length > 0 ? `\n\noptions:\n${describeOptions(c.options)}` : '';
  return `usage: qwen-local ${c.name} ${c.usage}\n\n${c.summary}${opts}\n`;
}

function find(name: string): Command {
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.map((x) => x.name).join(', ')})`);
  return c;
}

/** Runs the CLI on argv (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name === undefined ? 1 : 0;
  }
  if (name === 'help') {
    process.stdout.write(rest[0] ? commandHelp(find(rest[0])) : usage());
    return 0;
  }
  const command = find(name);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const args = new Args(parseArgs(rest, command.options));
  if (command.name !== 'quantize' && args.positional.length > 0) {
    throw new UsageError(`unexpected argument '${args.positional[0]}' for ${command.name}`);
  }
  const code = await command.run(args);
  return code ?? undefined;
}

/**
 * Every error the engine raises carries a message naming the file and the problem, so the
 * message alone is shown; QWEN_DEBUG=1 adds the stack for anything that is not a usage error.
 */
function showStack(e: unknown): boolean {
  return !!process.env.QWEN_DEBUG && !(e instanceof UsageError);
}

// Runs when started as a program (bin/qwen-local.js requires this file), not when imported.
if (require.main === module || /qwen-local(\.js)?$/.test(require.main?.filename ?? '')) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== undefined) process.exitCode = code;
    },
    (e: unknown) => {
      const message = e instanceof Error ? (showStack(e) ? (e.stack ?? e.message) : e.message) : String(e);
      process.stderr.write(`qwen-local: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
