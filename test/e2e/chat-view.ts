// Watching the chat webview from inside its frame. A reply can stream in about a second, too fast to
// catch by polling from the test process, so a MutationObserver in the page records the newest
// assistant message's length and streaming flag at every change; the test reads the record later.
import type { Frame } from 'playwright-core';

export interface ReplySample {
  length: number;
  streaming: boolean;
}

export interface FinishedReply {
  /** The user turn the reply answers, as the view shows it. */
  question: string;
  text: string;
  footer: string;
  /** Whether the footer shows an error (as opposed to stats or "Stopped."). */
  failed: boolean;
  samples: ReplySample[];
}

declare global {
  interface Window {
    __qwenReplySamples?: ReplySample[];
  }
}

/** Starts recording the replies that appear from now on (call before sending). */
export async function recordReplies(frame: Frame): Promise<void> {
  await frame.evaluate(() => {
    const list = document.getElementById('messages');
    if (!list) throw new Error('chat view: #messages is missing');
    const samples: ReplySample[] = [];
    window.__qwenReplySamples = samples;
    const before = list.querySelectorAll('article.message.assistant').length;
    new MutationObserver(() => {
      const replies = list.querySelectorAll('article.message.assistant');
      if (replies.length <= before) return;
      const body = replies[replies.length - 1].querySelector('.message-body');
      if (!body) return;
      const length = (body.textContent ?? '').length;
      const streaming = body.classList.contains('streaming');
      const last = samples[samples.length - 1];
      if (!last || last.length !== length || last.streaming !== streaming) samples.push({ length, streaming });
    }).observe(list, { childList: true, subtree: true, characterData: true, attributes: true });
  });
}

/**
 * Waits until the chat shows `replyCount` assistant messages and the last has finished (no longer
 * streaming, footer filled in), then returns it with what was recorded while it streamed.
 */
export async function waitForReply(frame: Frame, replyCount: number, timeoutMs: number): Promise<FinishedReply> {
  try {
    await frame.waitForFunction(
      (n) => {
        const replies = document.querySelectorAll('#messages article.message.assistant');
        if (replies.length < n) return false;
        const last = replies[n - 1];
        const body = last.querySelector('.message-body');
        const footer = last.querySelector('.message-footer');
        return !!body && !body.classList.contains('streaming') && (footer?.textContent ?? '') !== '';
      },
      replyCount,
      { timeout: timeoutMs, polling: 100 },
    );
  } catch {
    const shown = await frame.evaluate(() => document.getElementById('messages')?.innerText ?? '(no #messages)');
    throw new Error(`reply ${replyCount} did not finish within ${timeoutMs} ms; the chat view shows:\n${shown.slice(0, 2000)}`);
  }
  return frame.evaluate((n) => {
    const replies = document.querySelectorAll('#messages article.message.assistant');
    const reply = replies[n - 1];
    let question = '';
    for (let el = reply.previousElementSibling; el; el = el.previousElementSibling) {
      if (el.classList.contains('user')) {
        question = el.querySelector('.message-body')?.textContent ?? '';
        break;
      }
    }
    const footer = reply.querySelector('.message-footer');
    return {
      question,
      text: reply.querySelector('.message-body')?.textContent ?? '',
      footer: footer?.textContent ?? '',
      failed: !!footer?.querySelector('.error'),
      samples: window.__qwenReplySamples ?? [],
    };
  }, replyCount);
}

/**
 * Checks that the reply streamed: while the view marked it streaming, its text was seen at two or
 * more different non-empty lengths below the final one, and then it finished. Returns a reason when it did not.
 */
export function streamingProblem(reply: FinishedReply): string | undefined {
  const finalLength = reply.text.length;
  const partial = reply.samples.filter((s) => s.streaming && s.length > 0 && s.length < finalLength).map((s) => s.length);
  if (partial.length < 2) {
    return (
      `the reply did not stream: partial lengths seen while streaming were [${partial.join(', ')}] of final ${finalLength} ` +
      `(samples ${JSON.stringify(reply.samples.slice(0, 20))})`
    );
  }
  // No check that each step grows: markdown can legitimately shorten the rendered text for a
  // moment (an opening ** or ` is shown as text until it is closed).
  if (new Set(partial).size < 2) return `the streamed text never changed length while streaming ([${partial.join(', ')}])`;
  if (reply.samples[reply.samples.length - 1]?.streaming !== false) return 'the reply never left the streaming state';
  return undefined;
}

export interface ShownMessage {
  role: 'user' | 'assistant';
  text: string;
  footer: string;
  /** The footer shows an error (a failed or interrupted reply). */
  failed: boolean;
  streaming: boolean;
}

/** Every message the chat view shows, top to bottom. */
export async function shownMessages(frame: Frame): Promise<ShownMessage[]> {
  return frame.evaluate(() =>
    Array.from(document.querySelectorAll('#messages article.message')).map((article) => {
      const body = article.querySelector('.message-body');
      const footer = article.querySelector('.message-footer');
      return {
        role: article.classList.contains('user') ? ('user' as const) : ('assistant' as const),
        text: body?.textContent ?? '',
        footer: footer?.textContent ?? '',
        failed: !!footer?.querySelector('.error'),
        streaming: !!body?.classList.contains('streaming'),
      };
    }),
  );
}

/** Waits until the newest reply is streaming and shows at least `minChars` characters; returns how many it shows. */
export async function waitForStreamingText(frame: Frame, minChars: number, timeoutMs: number): Promise<number> {
  const handle = await frame
    .waitForFunction(
      (min) => {
        const replies = document.querySelectorAll('#messages article.message.assistant');
        const body = replies[replies.length - 1]?.querySelector('.message-body');
        const n = (body?.textContent ?? '').length;
        return !!body && body.classList.contains('streaming') && n >= min ? n : false;
      },
      minChars,
      { timeout: timeoutMs, polling: 'raf' },
    )
    .catch(async () => {
      const shown = await frame.evaluate(() => document.getElementById('messages')?.innerText ?? '(no #messages)');
      throw new Error(`no reply was streaming with ${minChars}+ characters within ${timeoutMs} ms; the chat view shows:\n${shown.slice(-1500)}`);
    });
  return (await handle.jsonValue()) as number;
}
