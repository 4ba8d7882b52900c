#!/usr/bin/env node
// Bundles what the packaged extension runs, with esbuild:
//   dist/extension.js        the extension host side (src/extension/extension.ts); `vscode` external
//   dist/server.js           the language server (src/server/main.ts), a separate Node process
//   dist/webview/chat.js     the chat page (webview/chat.ts), browser IIFE, no Node or vscode
//   dist/webview/chat.css    its stylesheet
// The native addon is never bundled: the server loads it at run time from $QWEN_NATIVE_PATH, which
// the extension sets to dist/native/qwen_native.node (packaged) or build/native/Release/
// qwen_native.node (checkout). The webview is also type-checked here (tsconfig.json excludes it).
// Each bundle's esbuild metafile (the sources that went in) is written to build/bundles/NAME.meta.json.
//
// It also regenerates the TextMate grammars' JSON from their YAML sources (syntaxes/*.yaml); the
// JSON is committed too, so the `grammars` step only matters after editing a YAML file.
//
// Usage: node scripts/build-bundles.mjs [extension] [server] [webview] [grammars] [--no-typecheck] [--minify]
// With no target names it builds all four. Exits non-zero, naming the bundle, on any error.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const known = ['extension', 'server', 'webview', 'grammars'];
const named = args.filter((a) => !a.startsWith('--'));
for (const name of named) {
  if (!known.includes(name)) {
    console.error(`build-bundles: unknown bundle "${name}" (known: ${known.join(', ')})`);
    process.exit(2);
  }
}
const targets = named.length > 0 ? named : known;
const minify = flags.has('--minify');

/** Shared settings for the two Node bundles (extension host and server process). */
const nodeBundle = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  minify,
  logLevel: 'warning',
  // Prefer the CommonJS builds of dependencies: several ship an ESM build that relies on
  // import.meta, which has no meaning in a CommonJS bundle.
  mainFields: ['main', 'module'],
  conditions: ['node', 'require'],
};

const bundles = {
  extension: {
    ...nodeBundle,
    entryPoints: [join(root, 'src/extension/extension.ts')],
    outfile: join(root, 'dist/extension.js'),
    // Provided by VS Code at run time.
    external: ['vscode'],
  },
  server: {
    ...nodeBundle,
    entryPoints: [join(root, 'src/server/main.ts')],
    outfile: join(root, 'dist/server.js'),
    // The addon is a binary loaded by path at run time; node-llama-cpp is a test oracle only.
    external: ['*.node', 'node-llama-cpp', 'vscode'],
  },
  webview: {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome114'],
    sourcemap: false,
    minify,
    logLevel: 'warning',
    entryPoints: [join(root, 'webview/chat.ts'), join(root, 'webview/chat.css')],
    outdir: join(root, 'dist/webview'),
    // Nothing from Node may reach the page; a stray import fails the build instead.
    external: [],
  },
};

function typecheckWebview() {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'webview/tsconfig.json')], { encoding: 'utf8' });
  if (result.status !== 0) {
    console.error(`build-bundles: webview type errors:\n${result.stdout}${result.stderr}`);
    process.exit(1);
  }
}

/** syntaxes/X.tmLanguage.yaml -> syntaxes/X.tmLanguage.json (js-yaml comes with mocha and vsce). */
async function buildGrammars() {
  const { load } = (await import('js-yaml')).default;
  const dir = join(root, 'syntaxes');
  const written = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.tmLanguage.yaml'))) {
    const source = join(dir, name);
    let grammar;
    try {
      grammar = load(readFileSync(source, 'utf8'));
    } catch (e) {
      throw new Error(`${relative(root, source)}: invalid YAML: ${e.message}`);
    }
    if (!grammar || typeof grammar.scopeName !== 'string') throw new Error(`${relative(root, source)}: no scopeName`);
    // Keys starting with x- hold YAML anchors shared by several rules; TextMate has no use for them.
    for (const key of Object.keys(grammar)) if (key.startsWith('x-')) delete grammar[key];
    const target = source.replace(/\.yaml$/, '.json');
    writeFileSync(target, JSON.stringify(grammar, null, 2) + '\n');
    written.push(relative(root, target));
  }
  return written;
}

function size(file) {
  return existsSync(file) ? `${(statSync(file).size / 1024).toFixed(0)} KiB` : 'missing';
}

let failed = false;
for (const name of targets) {
  if (name === 'grammars') {
    try {
      console.log(`build-bundles: grammars: ${(await buildGrammars()).join(', ')}`);
    } catch (e) {
      console.error(`build-bundles: grammars: ${e.message}`);
      failed = true;
    }
    continue;
  }
  const options = bundles[name];
  const entry = options.entryPoints[0];
  if (!existsSync(entry)) {
    console.error(`build-bundles: ${name}: entry ${relative(root, entry)} does not exist`);
    failed = true;
    continue;
  }
  if (name === 'webview' && !flags.has('--no-typecheck')) typecheckWebview();
  mkdirSync(options.outdir ?? dirname(options.outfile), { recursive: true });
  const started = Date.now();
  try {
    // The metafile (which sources went into the bundle) lets tests check the architecture
    // invariants: the extension bundle holds no engine code, the webview bundle nothing from Node.
    const result = await build({ ...options, metafile: true });
    mkdirSync(join(root, 'build', 'bundles'), { recursive: true });
    writeFileSync(join(root, 'build', 'bundles', `${name}.meta.json`), JSON.stringify(result.metafile));
  } catch (e) {
    // esbuild has already printed the located errors; add which bundle they belong to.
    console.error(`build-bundles: ${name}: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
    failed = true;
    continue;
  }
  const outputs = options.outfile ? [options.outfile] : [join(options.outdir, 'chat.js'), join(options.outdir, 'chat.css')];
  const summary = outputs.map((f) => `${relative(root, f)} (${size(f)})`).join(', ');
  console.log(`build-bundles: ${name}: ${summary} in ${Date.now() - started} ms`);
}
process.exit(failed ? 1 : 0);
