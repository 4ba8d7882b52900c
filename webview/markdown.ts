// Model output to safe HTML. Three layers, each enough on its own for the common cases:
//   1. markdown-it with html: false, so raw HTML in the text is escaped, not parsed, and its
//      link validation drops javascript:/vbscript:/file: URLs;
//   2. DOMPurify on the produced HTML, with scripting tags, frames, forms and inline styles
//      forbidden, in case a markdown-it extension or bug lets something through;
//   3. the page's Content Security Policy, which runs only scripts carrying the per-load nonce.
// Code blocks are highlighted by highlight.js (core + the languages people mostly ask about).
import MarkdownIt from 'markdown-it';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import kotlin from 'highlight.js/lib/languages/kotlin';
import markdown from 'highlight.js/lib/languages/markdown';
import php from 'highlight.js/lib/languages/php';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const languages = { bash, c, cpp, csharp, css, diff, go, java, javascript, json, kotlin, markdown, php, python, ruby, rust, shell, sql, typescript, xml, yaml };
for (const [name, grammar] of Object.entries(languages)) hljs.registerLanguage(name, grammar);
// VS Code language ids that differ from highlight.js names.
hljs.registerAliases(['typescriptreact', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['javascriptreact', 'jsx'], { languageName: 'javascript' });
hljs.registerAliases(['shellscript', 'sh', 'zsh'], { languageName: 'bash' });
hljs.registerAliases(['html'], { languageName: 'xml' });

/** Blocks longer than this are shown unhighlighted: highlighting megabytes would freeze the view. */
const maxHighlightChars = 100_000;

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const md = new MarkdownIt({
  html: false,
  linkify: false,
  breaks: false,
  highlight(code: string, info: string): string {
    const lang = info.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    const known = lang !== '' && hljs.getLanguage(lang) !== undefined;
    const body = known && code.length <= maxHighlightChars ? hljs.highlight(code, { language: lang, ignoreIllegals: true }).value : escapeHtml(code);
    const cls = known ? ` class="hljs language-${escapeHtml(lang)}"` : ' class="hljs"';
    return `<pre><code${cls}>${body}</code></pre>`;
  },
});

const purifyConfig = {
  FORBID_TAGS: [
    'script',
    'style',
    'iframe',
    'frame',
    'object',
    'embed',
    'form',
    'input',
    'button',
    'textarea',
    'select',
    'link',
    'meta',
    'base',
    'svg',
    'math',
  ],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
  // Links may point to the web or mail; images only to inline data (no remote loads by design).
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#|data:image\/(?:png|gif|jpeg|webp);)/i,
};

/** Renders markdown from the model (or the user) to sanitized HTML. */
export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(md.render(text), purifyConfig) as unknown as string;
}
