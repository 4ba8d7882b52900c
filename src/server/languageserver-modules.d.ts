// tsconfig uses classic "node" module resolution, which ignores package.json "exports", and
// vscode-languageserver 10, its protocol package and vscode-jsonrpc publish their entry points only
// there. These map the imports the server and its tests use (which Node and esbuild resolve
// through "exports") to the same typings by file path.
declare module 'vscode-languageserver' {
  export * from 'vscode-languageserver/lib/common/api';
}
declare module 'vscode-languageserver/node' {
  export * from 'vscode-languageserver/lib/node/main';
}
declare module 'vscode-languageserver-protocol' {
  export * from 'vscode-languageserver-protocol/lib/common/api';
}
declare module 'vscode-jsonrpc' {
  export * from 'vscode-jsonrpc/lib/common/api';
}
declare module 'vscode-jsonrpc/node' {
  export * from 'vscode-jsonrpc/lib/node/main';
}
