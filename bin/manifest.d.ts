// Types for bin/manifest.js (plain JS: it runs before and without the TypeScript build).
export declare const ROOT: string
export declare const MANIFEST: string
export type ManifestState = 'fresh' | 'missing' | 'stale'
export interface Manifest {commands: Record<string, {id: string; summary?: string; flags: Record<string, {name: string; type: string}>; args: Record<string, {name: string}>; [k: string]: unknown}>; version: string}
export declare function scanCommands(dir: string): {ids: Set<string>; newest: number} | undefined
export declare function manifestState(root?: string, dirs?: string[]): ManifestState
export declare function describeCommands(root?: string): Promise<Manifest>
export declare function writeManifest(root?: string): Promise<{file: string; commands: number}>
export declare function removeManifest(root?: string): void
export declare function ensureManifest(root?: string): Promise<void>
