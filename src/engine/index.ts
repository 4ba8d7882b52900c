// The engine's public face: what the CLI, the language server and the tests import.
export * from './api';
export { loadModel, resolveLoadOptions, readModelHeader, isGpuFault } from './model';
export { generate, commonPrefixLength, endOfGenerationIds } from './generate';
export { StopStringMatcher } from './stop-strings';
export { loadNative, nativeAddonPath } from './native';
export type { NativeBinding, NativeModel, GgufInfo, GgufTensorInfo, GgmlTypeInfo } from './native';
export { createTokenizerFromGguf } from './tokenizer';
export { renderChatPrompt, renderChatPrompt as renderChat } from './chat-template';
