#!/usr/bin/env node
import {execute} from '@oclif/core'
import {ensureManifest} from './manifest.js'

// oclif describes the commands from oclif.manifest.json instead of importing them all; rewrite it if a build left it stale
await ensureManifest()
await execute({dir: import.meta.url})
