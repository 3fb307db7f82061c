#!/usr/bin/env node
// Development entry: @oclif/core (development: true) maps ./dist/commands -> ./src/commands
// via tsconfig rootDir/outDir and registers tsx itself (tsx must stay a devDependency, pinned 4.23.14).
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
