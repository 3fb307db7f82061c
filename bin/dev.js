#!/usr/bin/env node
// Development entry: @oclif/core (development: true) maps ./dist/commands -> ./src/commands
// via tsconfig rootDir/outDir and registers tsx itself (tsx must stay a devDependency, pinned 4.23.14).
import {execute} from '@oclif/core'
import {ensureManifest} from './manifest.js'

process.env.NODE_ENV = 'development' // as execute({development: true}) sets it; ensureManifest checks src/ then
await ensureManifest() // a manifest older than src/commands is removed: oclif then describes src/ itself
await execute({development: true, dir: import.meta.url})
