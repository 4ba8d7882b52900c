// The OpenAI-compatible HTTP server over the engine (`serve --http`). The client that the language
// server uses for a remote server (settings.remoteUrl) lives in src/server/remote.
export { startHttpServer } from './server';
export type { HttpServerHandle, HttpServerOptions } from './server';
export type { RequestRecord } from './handlers';
