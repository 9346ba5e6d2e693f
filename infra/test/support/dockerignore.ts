// .dockerignore as Docker reads it: a path is left out of the build context when a pattern matches it
// or one of its parent folders (`!` exceptions are not used in this repository and not supported here).
import path from 'node:path'
import { readRepoFile } from './repo.js'

export function readDockerignore(): string[] {
  const patterns = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const exception = patterns.find((p) => p.startsWith('!'))
  if (exception) throw new Error(`.dockerignore: exceptions (${exception}) are not supported by these tests`)
  return patterns.map((p) => p.replace(/^\/+|\/+$/g, ''))
}

export function isIgnored(relativePath: string, patterns: string[]): boolean {
  const parts = path.posix.normalize(relativePath).split('/')
  return parts.some((_part, i) => {
    const candidate = parts.slice(0, i + 1).join('/')
    return patterns.some((pattern) => path.posix.matchesGlob(candidate, pattern))
  })
}
