// tsconfig uses classic "node" module resolution, which ignores package.json "exports"; the
// languageclient publishes its Node entry only there ("./node"). This maps the import the code
// uses (and esbuild resolves through "exports") to the same typings by file path.
declare module 'vscode-languageclient/node' {
  export * from 'vscode-languageclient/lib/node/main';
}
declare module 'vscode-languageserver-protocol/node' {
  export * from 'vscode-languageserver-protocol/lib/node/main';
}
declare module 'vscode-jsonrpc/node' {
  export * from 'vscode-jsonrpc/lib/node/main';
}
