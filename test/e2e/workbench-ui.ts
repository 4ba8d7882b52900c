// Driving the VS Code workbench the way a user does (keyboard, command palette, clicks) and
// reading back what it shows. Selectors are VS Code 1.99's (code-server 4.99.4); each helper fails
// with a message naming what it waited for, so a broken step says which one.
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Locator, Page } from 'playwright-core';

/** The extension's status bar entry: code-server gives it the id `<publisher>.<name>.<item id>`. */
export const statusItemSelector = '[id="qwen-local.qwen-local.qwenLocal.status"]';

export async function statusText(page: Page): Promise<string> {
  const item = page.locator(statusItemSelector);
  return (await item.count()) > 0 ? (await item.innerText()).trim() : '';
}

/**
 * Waits until the status bar says the model is loaded. Fails at once, with the tooltip's text,
 * when it says error or "no model" instead.
 */
export async function waitForModelReady(page: Page, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await statusText(page);
    if (/Qwen: error|no model/i.test(text)) {
      const label = await page.locator(statusItemSelector).getAttribute('aria-label');
      throw new Error(`the status bar reports "${text}" instead of a loaded model: ${label}`);
    }
    if (text !== '' && !/loading/i.test(text)) return text;
    await page.waitForTimeout(250);
  }
  throw new Error(`the model was not ready within ${timeoutMs} ms; the status bar says "${text || '(no Qwen Local item)'}"`);
}

/** Runs a command by its palette title (e.g. "Qwen Local: Open Chat"), as typed into F1. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  // The row whose label is exactly the title, not a longer command that contains it.
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  try {
    await row.waitFor({ state: 'visible', timeout: 10_000 });
  } catch {
    const rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    throw new Error(`the command palette has no "${title}"; it offers: ${JSON.stringify(rows.slice(0, 10))}`);
  }
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
}

/**
 * Waits until VS Code has created the editor features it defers to the renderer's first idle time.
 * VS Code 1.99 creates a new editor widget's "Eventually" contributions, the inline suggestion
 * controller among them, in a requestIdleCallback with a 5 s timeout. The controller starts
 * listening to keystrokes only then: what was typed before it existed starts no inline completion
 * fetch, and VS Code asks again only at the next keystroke. On a busy machine that idle time can
 * come seconds after the editor took focus, after the test has typed its whole line. An idle
 * callback with the same timeout, requested after the editor exists, runs after VS Code's: idle
 * callbacks run in the order they were requested, and timed-out ones in the order they expire.
 */
async function waitForDeferredEditorFeatures(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((resolve) => requestIdleCallback(() => resolve(), { timeout: 5_000 })));
}

/**
 * Opens a workspace file through Quick Open and waits until its editor has focus and VS Code's
 * deferred editor features (inline suggestions among them) are listening.
 */
export async function openFile(page: Page, relativePath: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(relativePath);
  const name = path.basename(relativePath);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 }).catch(() => {
    throw new Error(`Quick Open did not find ${relativePath}`);
  });
  await page.keyboard.press('Enter');
  await page
    .locator(`.tab.active[aria-label^="${name}"]`)
    .waitFor({ timeout: 15_000 })
    .catch(() => {
      throw new Error(`no active editor tab for ${name} after Quick Open`);
    });
  await page
    .locator('.editor-group-container.active .monaco-editor.focused')
    .waitFor({ timeout: 10_000 })
    .catch(() => {
      throw new Error(`the editor for ${name} did not take focus`);
    });
  await waitForDeferredEditorFeatures(page);
}

/**
 * The inline suggestion as shown: the ghost part of the cursor line (Monaco splits long text into
 * several spans) and, for a multi-line suggestion, the lines of the view zone below it. Monaco
 * renders spaces as no-break spaces; they are turned back into spaces. '' when none is shown.
 */
export async function ghostText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const editor =
      document.querySelector('.editor-group-container.active .monaco-editor.focused') ??
      document.querySelector('.editor-group-container.active .monaco-editor');
    if (!editor) return '';
    const text = (el: Element) => (el.textContent ?? '').replace(/\u00a0/g, ' ');
    const first = Array.from(editor.querySelectorAll('.view-lines .ghost-text-decoration')).map(text).join('');
    // Lines after the first live in a view zone Monaco fills with `.suggest-preview-text > .view-line`.
    const more = Array.from(editor.querySelectorAll('.view-zones .suggest-preview-text .view-line')).map(text);
    return [first, ...more].join('\n');
  });
}

/** Waits for a ghost text that stays the same for `stableMs` (the provider may refine its first answer). */
export async function waitForStableGhostText(page: Page, timeoutMs: number, stableMs = 600): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = await ghostText(page);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (now !== '' && Date.now() - since >= stableMs) {
      return now;
    }
    await page.waitForTimeout(100);
  }
  throw new Error(
    last === '' ? `no ghost text appeared within ${timeoutMs} ms` : `the ghost text kept changing for ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
  );
}

/**
 * The ghost text after the test typed into the focused editor (opened with `openFile`). Typing
 * must make VS Code ask the extension's provider by itself: the step fails when no automatic ask
 * shows up in the extension's log (a line per ask at trace level, which the workbench must be
 * opened with) within `askWithinMs`, and when no stable ghost text follows within `timeoutMs`.
 * Both failure messages list the extension's inline completion log lines since typing.
 */
export async function ghostTextAfterTyping(
  page: Page,
  extensionLog: () => string,
  logBefore: number,
  timeoutMs: number,
  askWithinMs = 10_000,
): Promise<string> {
  const completionLines = () =>
    extensionLog()
      .slice(logBefore)
      .split('\n')
      .filter((l) => /inline ?completion/i.test(l));
  const shown = () => completionLines().join('\n') || '(no completion requests)';
  const asked = () => completionLines().some((l) => /Inline completion asked .*\(automatic\)/.test(l));
  const deadline = Date.now() + askWithinMs;
  while (Date.now() < deadline && !asked()) await page.waitForTimeout(100);
  if (!asked()) {
    throw new Error(
      `VS Code did not ask for an inline completion by itself within ${askWithinMs} ms of the typing ` +
        `(VS Code's own fetch log, editor.inlineSuggest.logFetch, is in the kept browser-console.log); ` +
        `the extension's log since typing shows:\n${shown()}`,
    );
  }
  return waitForStableGhostText(page, timeoutMs).catch((e: Error) => {
    throw new Error(`${e.message}; the extension's log since typing shows:\n${shown()}`);
  });
}

/** The frame of a webview whose page has `selector` (webview views sit in nested iframes). */
export async function webviewFrame(page: Page, selector: string, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (await frame.$(selector).catch(() => null)) return frame;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(
    `no webview with ${selector} appeared within ${timeoutMs} ms (frames: ${page
      .frames()
      .map((f) => f.url())
      .join(', ')})`,
  );
}

/** Saves a screenshot under the artifacts folder and returns its path. */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

declare global {
  interface Window {
    __qwenStatusLog?: string[];
  }
}

/**
 * Starts recording every text the extension's status bar item shows from now on, in order, so a
 * test can see a short "loading" between two "ready"s that polling could miss. Returns nothing;
 * read the record with `statusLog`.
 */
export async function recordStatusBar(page: Page): Promise<void> {
  await page.evaluate((selector) => {
    const bar = document.querySelector('.part.statusbar');
    if (!bar) throw new Error('the workbench has no status bar (.part.statusbar)');
    const log: string[] = [];
    window.__qwenStatusLog = log;
    const read = () => {
      const item = document.querySelector(selector) as HTMLElement | null;
      const text = (item?.innerText ?? '').trim();
      if (log[log.length - 1] !== text) log.push(text);
    };
    read();
    new MutationObserver(read).observe(bar, { childList: true, subtree: true, characterData: true, attributes: true });
  }, statusItemSelector);
}

export async function statusLog(page: Page): Promise<string[]> {
  return page.evaluate(() => window.__qwenStatusLog ?? []);
}

const isReady = (text: string) => text !== '' && !/loading|Qwen: error|no model/i.test(text);

/**
 * Waits until, after entry `from` of the status record, the status bar left "ready" (loading or
 * error) and then showed a model as ready again: a server restart seen through the user's eyes.
 * Returns the ready text. Fails at once on an error shown after the loading.
 */
export async function waitForReadyAgain(page: Page, from: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = (await statusLog(page)).slice(from);
    const left = seen.findIndex((t) => !isReady(t));
    if (left >= 0) {
      const back = seen.slice(left + 1).find(isReady);
      if (back !== undefined) return back;
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`the status bar did not go from not-ready back to ready within ${timeoutMs} ms; it showed ${JSON.stringify(seen)}`);
}

/** A notification toast whose message matches `message` (VS Code 1.99's notification DOM). */
export async function waitForNotification(page: Page, message: RegExp, timeoutMs: number): Promise<Locator> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: message }).first();
  try {
    await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    const shown = await page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
    throw new Error(`no notification matching ${message} within ${timeoutMs} ms; notifications shown: ${JSON.stringify(shown)}`);
  }
  return toast;
}

/** The labels of a notification's buttons. */
export async function notificationButtons(toast: Locator): Promise<string[]> {
  return (await toast.locator('.notification-list-item-buttons-container .monaco-button').allInnerTexts()).map((t) => t.trim());
}

/**
 * The lines a side of the active diff editor shows, top to bottom (only those Monaco rendered:
 * the visible part). Monaco's no-break spaces are turned back into spaces.
 */
export async function diffEditorLines(page: Page, side: 'original' | 'modified'): Promise<string[]> {
  return page.evaluate((which) => {
    const editor = document.querySelector(`.editor-group-container.active .monaco-diff-editor .editor.${which}`);
    if (!editor) return [];
    const lines = Array.from(editor.querySelectorAll('.view-lines .view-line')) as HTMLElement[];
    return lines.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top)).map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' '));
  }, side);
}
