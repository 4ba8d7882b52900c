// Entry point of a server process that runs the real server code (src/server/main.ts) with the
// fake engine of fake-engine.ts, for tests that need deterministic speeds. Speeds come from the
// environment: FAKE_PREFILL_MS (per prompt token), FAKE_DECODE_MS (per generated token).
import { startServer } from '../../src/server/main';
import { fakeEngine } from './fake-engine';

startServer({
  transport: 'stdio',
  engine: fakeEngine({
    prefillMsPerToken: Number(process.env.FAKE_PREFILL_MS ?? '0.05'),
    decodeMs: Number(process.env.FAKE_DECODE_MS ?? '2'),
  }),
  maxChatWaitMs: 5000,
});
