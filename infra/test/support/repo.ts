// Reading the repository from the tests: paths are relative to the repository root.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

export function repoPath(relative: string): string {
  return path.join(repoRoot, relative)
}

export function readRepoFile(relative: string): string {
  return readFileSync(repoPath(relative), 'utf8')
}

export function repoFileExists(relative: string): boolean {
  return existsSync(repoPath(relative))
}

/** Every file under a repository folder, recursively, as repository-relative paths. */
export function listRepoFiles(relativeDir: string): string[] {
  return readdirSync(repoPath(relativeDir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .sort()
}

/**
 * Every document of a YAML stream as plain data. Throws on any YAML error or warning (a duplicate key,
 * a tab), which kubectl and compose would reject or silently read differently. `<<` merge keys are
 * resolved, as docker compose does.
 */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  return parseAllDocuments(text, { merge: true, uniqueKeys: true }).flatMap((doc) => {
    const problem = doc.errors[0] ?? doc.warnings[0]
    if (problem) throw new Error(`${source}: ${problem.message}`)
    const value: unknown = doc.toJS({ maxAliasCount: 100 })
    return value === null || value === undefined ? [] : [value]
  })
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function readPackageJson(packageDir: string): { name: string; scripts?: Record<string, string>; dependencies?: Record<string, string> } {
  return JSON.parse(readRepoFile(path.join(packageDir, 'package.json')))
}
