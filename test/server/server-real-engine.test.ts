// The server over stdio as users start it (`node bin/qwen-local.js serve --stdio`), with the real
// engine and the tiny synthetic Qwen2.5 model. Random weights write gibberish, so this suite checks
// counts and protocol behaviour, not the text. Skipped, saying why, when the native addon is not
// built.
import * as fs from 'fs';
import * as path from 'path';
import { nativeAddonPath } from '../../src/engine/native';
import { getTestModel, repoRoot } from '../helpers/models';
import { serverSuite } from './server-suite';

const root = repoRoot();
const addon = process.env.QWEN_NATIVE_PATH || nativeAddonPath();

if (!fs.existsSync(addon)) {
  describe('language server over stdio (real engine, tiny model)', () => {
    it('needs the native addon', function () {
      console.log(`    skipped: the native addon is not built (${addon}); run npm run build:native`);
      this.skip();
    });
  });
} else {
  serverSuite(
    {
      name: 'real engine, tiny model',
      spec: { command: process.execPath, args: [path.join(root, 'bin', 'qwen-local.js'), 'serve', '--stdio'] },
      modelPath: () => getTestModel('tiny', 'F32'),
      knownAnswers: false,
      // The tiny model's 152k-row output layer makes each token cost ~0.1 s on this machine.
      overtakeChatTokens: 16,
      completionTokens: 6,
    },
    root,
  );
}
