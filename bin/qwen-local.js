#!/usr/bin/env node
// The `qwen-local` command: the engine's own tools (see src/cli).
require('../out/src/cli/main.js');
