// The built-in code actions (explain, fix, write docs, write tests, edit by instruction) as data:
// what each asks the model and where its answer goes. Edits are taken from the first fenced code
// block of the reply and shown as a diff; explanations go to the chat view; tests open as a new
// document. Free of `vscode` so prompts and code extraction are unit-tested.
import type { ChatMessage, ServerSettings } from '../protocol';

export type ActionId = 'explain' | 'fix' | 'writeDocs' | 'writeTests' | 'editWithInstruction';

/** Where an action's answer goes. */
export type ActionOutput = 'chat' | 'diff' | 'newDocument';

export interface ActionSpec {
  id: ActionId;
  title: string;
  output: ActionOutput;
  /** What the user message asks, before the code. {instruction} is replaced for edit-by-instruction. */
  task: string;
}

export const actionSpecs: Record<ActionId, ActionSpec> = {
  explain: {
    id: 'explain',
    title: 'Explain',
    output: 'chat',
    task: 'Explain what the following code does, step by step, and point out anything surprising.',
  },
  fix: {
    id: 'fix',
    title: 'Fix',
    output: 'diff',
    task: 'Find and fix the bugs in the following code. Keep its behaviour otherwise unchanged.',
  },
  writeDocs: {
    id: 'writeDocs',
    title: 'Write docs',
    output: 'diff',
    task: "Add documentation comments in the language's usual style to the following code. Do not change the code itself.",
  },
  writeTests: {
    id: 'writeTests',
    title: 'Write tests',
    output: 'newDocument',
    task: "Write unit tests for the following code using the language's most common test framework.",
  },
  editWithInstruction: {
    id: 'editWithInstruction',
    title: 'Edit',
    output: 'diff',
    task: 'Rewrite the following code as instructed: {instruction}',
  },
};

export const systemPrompt =
  "You are Qwen, a careful coding assistant running locally in the user's editor. Answer concisely. " + 'Put code in fenced code blocks with a language tag.';

export interface ActionInput {
  code: string;
  languageId: string;
  fileName: string;
  /** True when `code` is the whole file rather than a selection. */
  wholeFile: boolean;
  instruction?: string;
}

/** Builds the chat messages for one action. */
export function buildActionMessages(spec: ActionSpec, input: ActionInput): ChatMessage[] {
  if (spec.id === 'editWithInstruction' && !input.instruction?.trim()) {
    throw new Error('Edit with instruction needs a non-empty instruction');
  }
  const task = spec.task.replace('{instruction}', input.instruction?.trim() ?? '');
  const where = input.wholeFile ? `the file ${input.fileName}` : `a selection from ${input.fileName}`;
  const reply =
    spec.output === 'diff'
      ? 'Reply with the complete rewritten code in a single fenced code block and nothing else.'
      : spec.output === 'newDocument'
        ? 'Reply with the complete test file in a single fenced code block.'
        : '';
  const fence = fenceFor(input.code);
  const user = `${task}\n\nThe code is ${where} (${input.languageId}):\n\n${fence}${input.languageId}\n${input.code}\n${fence}${reply ? `\n\n${reply}` : ''}`;
  return [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: user },
  ];
}

/** A fence longer than any backtick run inside the code, so code containing ``` stays intact. */
export function fenceFor(code: string): string {
  let longest = 0;
  for (const m of code.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

/**
 * Takes the code out of a model reply: the longest fenced block if there is one (models sometimes
 * add a short usage example after the real answer); else the whole reply, since small models
 * sometimes answer with bare code (the diff preview lets the user reject prose). Undefined when empty.
 */
export function extractCode(reply: string): string | undefined {
  const blocks: string[] = [];
  const fence = /^(`{3,}|~{3,})[^\n`]*\n([\s\S]*?)\n?^\1[ \t]*$/gm;
  for (const m of reply.matchAll(fence)) blocks.push(m[2]);
  if (blocks.length === 0) {
    // An unterminated fence happens when generation stopped at maxTokens: keep what came.
    const open = /^(`{3,}|~{3,})[^\n`]*\n([\s\S]*)$/m.exec(reply);
    if (open) return open[2].replace(/\n?(`{3,}|~{3,})?\s*$/, '');
    return reply.trim() === '' ? undefined : reply.trim();
  }
  return blocks.reduce((a, b) => (b.length > a.length ? b : a));
}

/**
 * Keeps the selection's outer whitespace: models drop the trailing newline and leading indentation
 * of a selection, which would otherwise show up as spurious diff lines.
 */
export function matchOuterWhitespace(original: string, replacement: string): string {
  const lead = /^\s*/.exec(original)?.[0] ?? '';
  const trail = /\s*$/.exec(original)?.[0] ?? '';
  const leadLine = lead.slice(lead.lastIndexOf('\n') + 1);
  let body = replacement.replace(/^\s*\n/, '').replace(/\s+$/, '');
  if (leadLine && !body.startsWith(leadLine)) body = body.replace(/^[ \t]*/, leadLine);
  return lead.slice(0, lead.length - leadLine.length) + body + trail;
}

/**
 * Drops the oldest turns until the conversation fits the model's context with room for the reply.
 * Characters stand in for tokens (code averages about 3 characters per token), so the server's
 * exact check rarely has to refuse; the newest turn is always kept.
 */
export function fitToContext(turns: ChatMessage[], settings: Pick<ServerSettings, 'contextSize' | 'chat'>): ChatMessage[] {
  const budgetChars = Math.max(2000, (settings.contextSize - settings.chat.maxTokens) * 3);
  let total = 0;
  let first = turns.length;
  while (first > 0 && (first === turns.length || total + turns[first - 1].content.length <= budgetChars)) {
    total += turns[first - 1].content.length;
    first--;
  }
  // Start on a user turn: an orphaned assistant reply at the top confuses chat templates.
  while (first < turns.length - 1 && turns[first].role !== 'user') first++;
  return turns.slice(first);
}
