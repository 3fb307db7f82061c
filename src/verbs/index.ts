export * from './verbs.js'
export * from './memory.js'
export * from './channel.js'
