// The errors the server answers with. Each is an LSP ResponseError with a message a user can act
// on; the server itself stays up and serves the next request.
import { ErrorCodes, ResponseError } from 'vscode-languageserver';

/** Error codes in the LSP range reserved for servers (-32899..-32800 is LSP's own). */
export const QwenErrorCodes = {
  noModel: -32001,
  modelLoadFailed: -32002,
  promptTooLong: -32003,
  unknownDocument: -32004,
  generationFailed: -32005,
} as const;

export function noModelError(): ResponseError<void> {
  return new ResponseError(
    QwenErrorCodes.noModel,
    'No model is configured: set qwenLocal.modelPath (initializationOptions.modelPath) to a Qwen2.5 / Qwen2.5-Coder .gguf file.',
  );
}

export function modelLoadError(path: string, message: string): ResponseError<void> {
  return new ResponseError(QwenErrorCodes.modelLoadFailed, `The model ${path} could not be loaded: ${message}`);
}

export function promptTooLongError(what: string, tokens: number, capacity: number): ResponseError<void> {
  return new ResponseError(
    QwenErrorCodes.promptTooLong,
    `The ${what} is ${tokens} tokens long, but the context holds only ${capacity} tokens (with room for the reply); shorten it or raise qwenLocal.contextSize.`,
  );
}

export function unknownDocumentError(uri: string): ResponseError<void> {
  return new ResponseError(QwenErrorCodes.unknownDocument, `Unknown document ${uri}: the server was never sent textDocument/didOpen for it.`);
}

export function invalidParams(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, message);
}

/** Any other failure, as a ResponseError that keeps the original message. */
export function asResponseError(e: unknown, what: string): ResponseError<void> {
  if (e instanceof ResponseError) return e as ResponseError<void>;
  const message = e instanceof Error ? e.message : String(e);
  return new ResponseError(QwenErrorCodes.generationFailed, `${what} failed: ${message}`);
}
