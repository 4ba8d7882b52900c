// Retrieval quality of the workspace index on code that is not ours: node-llama-cpp's compiled
// JavaScript (290 files) from node_modules, indexed as a workspace with *.d.ts and *.map excluded
// through files.exclude. Each of the fixture's questions names an identifier or describes a
// behaviour; the file that defines it must be among the first three files for at least 90% of
// them. The questions were written by reading the package's source; the version they were written
// against is in the fixture, and a different installed version fails the test with that reason.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../../helpers/models';
import { WorkspaceIndex } from '../../../src/server/workspace-index/workspace-index';

interface Fixture {
  package: string;
  version: string;
  folder: string;
  exclude: string[];
  questions: { question: string; file: string; kind: 'identifier' | 'behaviour' }[];
}

describe('workspace index: retrieval quality on node-llama-cpp (not our code)', function () {
  this.timeout(120000);
  const root = repoRoot();
  const fixture = JSON.parse(fs.readFileSync(path.join(root, 'test', 'fixtures', 'workspace-retrieval-questions.json'), 'utf8')) as Fixture;
  const folder = path.join(root, fixture.folder);
  let index: WorkspaceIndex;

  before(async () => {
    const installed = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', fixture.package, 'package.json'), 'utf8')) as { version: string };
    assert.strictEqual(
      installed.version,
      fixture.version,
      `the questions were written for ${fixture.package} ${fixture.version}; ${installed.version} is installed`,
    );
    index = new WorkspaceIndex();
    await index.build([{ root: folder, name: 'dist' }], Object.fromEntries(fixture.exclude.map((g) => [g, true])));
  });

  it('indexes the package as a workspace, honouring files.exclude', function () {
    const files = index.files();
    assert.ok(files.length >= 250, `indexed ${files.length} files`);
    assert.ok(
      files.every((f) => f.endsWith('.js')),
      'no .d.ts or .map file was indexed',
    );
  });

  it(`has the defining file in the top 3 for at least 90% of the questions`, function () {
    assert.ok(fixture.questions.length >= 50, `only ${fixture.questions.length} questions`);
    const misses: string[] = [];
    for (const q of fixture.questions) {
      const top = index.lexical.searchFiles(q.question, 3);
      if (!top.includes(q.file)) misses.push(`  [${q.kind}] ${q.question}\n    wanted ${q.file}, got ${top.join(', ') || 'nothing'}`);
    }
    const hitRate = 1 - misses.length / fixture.questions.length;
    console.log(`      top-3 hit rate ${(hitRate * 100).toFixed(1)}% (${fixture.questions.length - misses.length}/${fixture.questions.length})`);
    if (misses.length > 0) console.log(`      misses:\n${misses.join('\n')}`);
    assert.ok(hitRate >= 0.9, `top-3 hit rate ${(hitRate * 100).toFixed(1)}% is below 90%`);
  });
});
