import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // oclif's this.log() goes through console.log; vitest's interception would hide it from @oclif/test.
    disableConsoleIntercept: true,
  },
})
