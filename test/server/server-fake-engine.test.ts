// The server over stdio with the fake engine (test/server/fake-engine.ts): deterministic output
// and speed, so scheduling and cancellation are observable on any machine.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../helpers/models';
import { serverSuite } from './server-suite';

const root = repoRoot();
const fakeModel = path.join(os.tmpdir(), `qwen-fake-model-${process.pid}.gguf`);

serverSuite(
  {
    name: 'fake engine',
    spec: {
      command: process.execPath,
      args: [path.join(root, 'out', 'test', 'server', 'fake-engine-server.js')],
      env: { FAKE_PREFILL_MS: '0.02', FAKE_DECODE_MS: '3' },
    },
    modelPath: async () => {
      fs.writeFileSync(fakeModel, 'GGUF fake model for the server tests');
      return fakeModel;
    },
    knownAnswers: true,
    overtakeChatTokens: 60,
    completionTokens: 24,
  },
  root,
);

after(() => fs.rmSync(fakeModel, { force: true }));
