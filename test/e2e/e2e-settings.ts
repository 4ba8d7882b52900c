// The VS Code settings every end-to-end test starts from: the synthetic model on the CPU, greedy
// short completions (the same suggestion every run, quickly), and VS Code's own suggestions off so
// they do not compete with the ghost text for Tab.
export function e2eSettings(model: string, chatMaxTokens: number): Record<string, unknown> {
  return {
    'qwenLocal.modelPath': model,
    'qwenLocal.device': 'cpu',
    'qwenLocal.completion.temperature': 0,
    'qwenLocal.completion.maxTokens': 24,
    'qwenLocal.chat.maxTokens': chatMaxTokens,
    'editor.quickSuggestions': { other: false, comments: false, strings: false },
    'editor.suggestOnTriggerCharacters': false,
    'editor.wordBasedSuggestions': 'off',
    'files.autoSave': 'off',
    // VS Code's own record of each inline completion fetch (start, end, result) in the browser
    // console, kept with the logs of a failed run: it tells "VS Code never asked" from "we answered
    // nothing".
    'editor.inlineSuggest.logFetch': true,
  };
}
