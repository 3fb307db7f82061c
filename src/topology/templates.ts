// Topology templates shipped in templates/ (used by `masq init`).
import {readdirSync, readFileSync} from 'node:fs'
import {SCHEMA_PATH, TEMPLATES_DIR} from './paths.js'

export interface TemplateInfo {name: string; summary: string}

const MODELINE = /^# yaml-language-server: \$schema=.*$/m

/** Template names (file names without .yaml) with the first descriptive comment line as summary. */
export function listTemplates(): TemplateInfo[] {
  return readdirSync(TEMPLATES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const text = readFileSync(new URL(f, TEMPLATES_DIR), 'utf8')
      const line = text.split('\n').find((l) => l.startsWith('# ') && !MODELINE.test(l)) ?? '# '
      return {name: f.slice(0, -'.yaml'.length), summary: line.slice(2).trim()}
    })
}

/** Template text; the schema modeline is pointed at this package's schema so editors find it anywhere. */
export function readTemplate(name: string): string | undefined {
  if (!listTemplates().some((t) => t.name === name)) return undefined
  const text = readFileSync(new URL(`${name}.yaml`, TEMPLATES_DIR), 'utf8')
  return text.replace(MODELINE, `# yaml-language-server: $schema=${SCHEMA_PATH}`)
}
