// Saved chat transcripts (`*.qwenchat.md`): Markdown that any viewer can read, with a front matter
// block and one `## User` / `## Assistant` / `## System` heading per message. The grammar in
// syntaxes/qwen-chat-transcript.tmLanguage.* highlights exactly this shape. A message line that
// would read as a role heading is escaped with a backslash (`\## User`), which Markdown renders
// as the literal text, so a transcript always parses back into the same messages.
// Free of `vscode` so the round trip is unit-tested.
import type { ChatRole } from '../protocol';

export interface TranscriptMessage {
  role: ChatRole;
  text: string;
}

export interface TranscriptMeta {
  title: string;
  savedAt: Date;
  model: string;
}

const roleHeading: Record<ChatRole, string> = { system: '## System', user: '## User', assistant: '## Assistant' };
const headingPattern = /^## (User|Assistant|System)[ \t]*$/;
// Any number of backslashes before a role heading: escaping adds one, parsing removes one.
const escapedHeadingPattern = /^\\(\\*## (?:User|Assistant|System)[ \t]*)$/;

/** A one-line title from the first user message, for the front matter and a default file name. */
export function transcriptTitle(messages: TranscriptMessage[]): string {
  const first = messages.find((m) => m.role === 'user')?.text ?? 'Chat';
  const line = first.split('\n').find((l) => l.trim() !== '') ?? 'Chat';
  const clean = line.replace(/[`*_#>[\]]/g, '').trim();
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean || 'Chat';
}

/** A file-system-safe base name from a title: "Fix the parser!" -> "fix-the-parser". */
export function transcriptFileName(title: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${slug || 'chat'}.qwenchat.md`;
}

export function formatTranscript(messages: TranscriptMessage[], meta: TranscriptMeta): string {
  const out: string[] = [
    '---',
    `title: ${meta.title.replace(/\n/g, ' ')}`,
    `saved: ${meta.savedAt.toISOString()}`,
    `model: ${meta.model.replace(/\n/g, ' ')}`,
    '---',
    '',
  ];
  for (const message of messages) {
    out.push(roleHeading[message.role], '');
    const body = message.text
      .replace(/\s+$/, '')
      .split('\n')
      .map((line) => (/^\\*## (User|Assistant|System)[ \t]*$/.test(line) ? `\\${line}` : line));
    out.push(...body, '');
  }
  return out.join('\n');
}

/** Reads a transcript back; lines before the first role heading (the front matter) are skipped. */
export function parseTranscript(source: string): TranscriptMessage[] {
  const messages: TranscriptMessage[] = [];
  let current: { role: ChatRole; lines: string[] } | undefined;
  const flush = () => {
    if (current) messages.push({ role: current.role, text: current.lines.join('\n').trim() });
  };
  for (const line of source.split(/\r?\n/)) {
    const heading = headingPattern.exec(line);
    if (heading) {
      flush();
      current = { role: heading[1].toLowerCase() as ChatRole, lines: [] };
      continue;
    }
    if (!current) continue;
    const escaped = escapedHeadingPattern.exec(line);
    current.lines.push(escaped ? escaped[1] : line);
  }
  flush();
  return messages;
}
