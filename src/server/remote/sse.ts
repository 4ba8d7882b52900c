// A small server-sent-events reader for OpenAI-style streams: splits the byte stream into events
// (blank-line separated, CRLF or LF), joins multi-line data fields, ignores comments (": ping") and
// other fields, and yields each event's data string. Chunks may split an event, or even a UTF-8
// character, anywhere; the decoder and the line buffer absorb that.

export async function* readSseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let data: string[] = [];

  const takeLines = function* (final: boolean): Generator<string> {
    for (;;) {
      const nl = buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more input.
      if (!final && buffer[nl] === '\r' && nl === buffer.length - 1) break;
      const line = buffer.slice(0, nl);
      const width = buffer.startsWith('\r\n', nl) ? 2 : 1;
      buffer = buffer.slice(nl + width);
      yield line;
    }
  };

  const processLine = (line: string): string | null => {
    if (line === '') {
      // End of an event.
      if (data.length === 0) return null;
      const event = data.join('\n');
      data = [];
      return event;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    return null;
  };

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (const line of takeLines(false)) {
      const event = processLine(line);
      if (event !== null) yield event;
    }
  }
  buffer += decoder.decode();
  for (const line of takeLines(true)) {
    const event = processLine(line);
    if (event !== null) yield event;
  }
  // A stream that ends without the final blank line still delivers its last event.
  if (buffer !== '') processLine(buffer);
  if (data.length > 0) yield data.join('\n');
}
