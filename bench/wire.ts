// The raw Unix-socket ceiling of this machine: `npx tsx bench/wire.ts [--json] [--duration MS] [--iters N]`.
import {main} from '../src/bench/wire.js'

await main()
