// The OpenAI-compatible side of Qwen Local: an HTTP server over the engine (`serve --http`) and a
// client for any OpenAI-compatible server (used when settings.remoteUrl is set).
export { startHttpServer } from './server';
export type { HttpServerHandle, HttpServerOptions } from './server';
export type { RequestRecord } from './handlers';
export { OpenAICompatibleClient, RemoteApiError, qwenFimPrompt } from './client';
export type { RemoteChatMessage, RemoteClientOptions, RemoteGenerateOptions, RemoteResult, RemoteUsage } from './client';
