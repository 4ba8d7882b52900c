// User prompt files: `*.prompt.md` in `.qwen/prompts/` of a workspace folder add the user's own
// actions to "Qwen Local: Run Prompt File…". A file starts with a small front matter block:
//
//   ---
//   title: Add logging            (required: shown in the picker)
//   description: Log every branch (optional)
//   context: selection            (selection | file | none; default selection)
//   mode: edit                    (chat = answer in the chat view; edit = replace the code via a diff)
//   ---
//   Add a log line to every branch of this {{language}} code:
//   {{selection}}
//
// The body may use {{selection}}, {{file}}, {{fileName}}, {{language}} and {{input}} (asks the user).
// Only flat `key: value` lines are read: prompt files are not a place for YAML features, and a
// tiny reader keeps errors precise (file name + line). Free of `vscode` so it is unit-tested.

export type PromptContext = 'selection' | 'file' | 'none';
export type PromptMode = 'chat' | 'edit';

export interface PromptFile {
  title: string;
  description: string;
  context: PromptContext;
  mode: PromptMode;
  body: string;
  /** True when the body uses {{input}}: the runner asks for it first. */
  needsInput: boolean;
}

export class PromptFileError extends Error {
  constructor(fileName: string, line: number, problem: string) {
    super(`${fileName}:${line}: ${problem}`);
    this.name = 'PromptFileError';
  }
}

const knownKeys = new Set(['title', 'description', 'context', 'mode']);
const variables = new Set(['selection', 'file', 'fileName', 'language', 'input']);
const variablePattern = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** Parses one prompt file; throws PromptFileError naming the file and line on bad input. */
export function parsePromptFile(fileName: string, source: string): PromptFile {
  const lines = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() !== '---') {
    throw new PromptFileError(fileName, 1, 'expected a front matter block starting with "---" on the first line');
  }
  const end = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
  if (end < 0) throw new PromptFileError(fileName, 1, 'the front matter block is not closed by a "---" line');

  const fields = new Map<string, string>();
  for (let i = 1; i < end; i++) {
    const line = lines[i];
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new PromptFileError(fileName, i + 1, `expected "key: value", got "${line.trim().slice(0, 60)}"`);
    const key = m[1];
    if (!knownKeys.has(key)) {
      throw new PromptFileError(fileName, i + 1, `unknown key "${key}" (known: ${[...knownKeys].join(', ')})`);
    }
    if (fields.has(key)) throw new PromptFileError(fileName, i + 1, `key "${key}" is given twice`);
    fields.set(key, unquote(m[2].trim()));
  }

  const title = fields.get('title') ?? '';
  if (title === '') throw new PromptFileError(fileName, 1, 'the front matter has no "title"');
  const context = (fields.get('context') ?? 'selection') as PromptContext;
  if (!['selection', 'file', 'none'].includes(context)) {
    throw new PromptFileError(fileName, lineOf(lines, end, 'context'), `"context" must be selection, file or none, got "${context}"`);
  }
  const mode = (fields.get('mode') ?? 'chat') as PromptMode;
  if (!['chat', 'edit'].includes(mode)) {
    throw new PromptFileError(fileName, lineOf(lines, end, 'mode'), `"mode" must be chat or edit, got "${mode}"`);
  }

  const body = lines
    .slice(end + 1)
    .join('\n')
    .trim();
  if (body === '') throw new PromptFileError(fileName, end + 2, 'the prompt body after the front matter is empty');
  for (const m of body.matchAll(variablePattern)) {
    if (!variables.has(m[1])) {
      const line = end + 2 + body.slice(0, m.index).split('\n').length - 1;
      throw new PromptFileError(fileName, line, `unknown variable {{${m[1]}}} (known: ${[...variables].join(', ')})`);
    }
  }
  return {
    title,
    description: fields.get('description') ?? '',
    context,
    mode,
    body,
    needsInput: /\{\{\s*input\s*\}\}/.test(body),
  };
}

export interface PromptValues {
  selection: string;
  file: string;
  fileName: string;
  language: string;
  input: string;
}

/**
 * Fills the variables of a prompt body. If the body names no code variable but the prompt wants
 * context, the code is appended in a fence so the model still sees it.
 */
export function renderPrompt(prompt: PromptFile, values: PromptValues): string {
  const usesCode = /\{\{\s*(selection|file)\s*\}\}/.test(prompt.body);
  // A single pass with a replacer function: text substituted in is never scanned again, so a
  // selection containing "{{input}}" stays literal.
  let text = prompt.body.replace(variablePattern, (_all, name: string) => values[name as keyof PromptValues] ?? '');
  if (!usesCode && prompt.context !== 'none') {
    const code = prompt.context === 'file' ? values.file : values.selection;
    text += `\n\n\`\`\`${values.language}\n${code}\n\`\`\``;
  }
  return text;
}

function unquote(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value[value.length - 1] === value[0]) {
    return value.slice(1, -1);
  }
  return value;
}

function lineOf(lines: string[], end: number, key: string): number {
  for (let i = 1; i < end; i++) if (lines[i].startsWith(`${key}`)) return i + 1;
  return 1;
}
