// The one shape of "this work was aborted" across the code: an Error named 'AbortError', as
// fetch() and the DOM use, so callers test the name rather than a class that a bundle may
// duplicate. This folder is the base layer: anything may import it and it imports nothing.

/** An Error named 'AbortError'. */
export function abortError(message = 'The operation was aborted'): Error {
  const err = new Error(message);
  err.name = 'AbortError';
  return err;
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}
