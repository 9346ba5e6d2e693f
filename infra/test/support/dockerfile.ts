// A small Dockerfile reader: enough to check stages, what each target image runs and as whom, and
// what it copies. Follows Docker's rules for `\` continuations and comment lines.
import path from 'node:path'
import { readRepoFile } from './repo.js'

export interface Instruction {
  keyword: string
  /** Everything after the keyword, continuations joined. */
  args: string
  /** 1-based line where the instruction starts. */
  line: number
}

export interface Stage {
  name: string | undefined
  /** The FROM argument: an image reference (possibly `${ARG}`) or an earlier stage's name. */
  from: string
  instructions: Instruction[]
}

export interface Dockerfile {
  /** ARG instructions before the first FROM (usable in FROM lines). */
  globalArgs: Record<string, string | undefined>
  stages: Stage[]
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = []
  let pending: { text: string; line: number } | null = null
  for (const [index, raw] of text.split('\n').entries()) {
    const trimmed = raw.trim()
    // Comment lines (parser directives included) are dropped, also inside a continuation.
    if (trimmed.startsWith('#')) continue
    if (!pending && trimmed === '') continue
    const continues = /\\\s*$/.test(raw)
    const part = continues ? raw.replace(/\\\s*$/, '') : raw
    pending = pending ? { text: `${pending.text} ${part.trim()}`, line: pending.line } : { text: part.trim(), line: index + 1 }
    if (!continues) {
      const match = /^(\S+)\s*(.*)$/s.exec(pending.text)!
      instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: pending.line })
      pending = null
    }
  }
  if (pending) throw new Error('Dockerfile ends inside a line continuation')

  const globalArgs: Record<string, string | undefined> = {}
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)
      if (!match) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`)
      stages.push({ from: match[1]!, name: match[2]?.toLowerCase(), instructions: [] })
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`)
      const [name, value] = instruction.args.split(/=(.*)/s)
      globalArgs[name!] = value
    } else {
      stages.at(-1)!.instructions.push(instruction)
    }
  }
  return { globalArgs, stages }
}

export function readDockerfile(relative: string): Dockerfile {
  return parseDockerfile(readRepoFile(relative))
}

export function findStage(dockerfile: Dockerfile, name: string): Stage | undefined {
  return dockerfile.stages.find((s) => s.name === name.toLowerCase())
}

/** The stage and the stages it is built FROM, base first, and the image at the root of that chain. */
export function stageChain(dockerfile: Dockerfile, name: string): { chain: Stage[]; baseImage: string } {
  const chain: Stage[] = []
  let stage = findStage(dockerfile, name)
  if (!stage) throw new Error(`no stage named ${name}`)
  for (;;) {
    if (chain.includes(stage)) throw new Error(`stage ${name} is built from itself`)
    chain.unshift(stage)
    const parent = findStage(dockerfile, stage.from)
    if (!parent) break
    stage = parent
  }
  return { chain, baseImage: expandArgs(chain[0]!.from, dockerfile.globalArgs) }
}

function expandArgs(value: string, args: Record<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_whole, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? '')
}

/** A JSON (exec form) argument list such as `["node", "dist/main.js"]`. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec-form list: ${args}`)
  return parsed
}

export interface ImageConfig {
  user: string | undefined
  /** ENTRYPOINT followed by CMD, as the container starts them. */
  command: string[]
  /** The HEALTHCHECK command, if any (exec form). */
  healthcheck: string[] | undefined
  env: Record<string, string>
  exposed: number[]
  workdir: string | undefined
}

/** What an image built with `--target name` runs: its own instructions over those of its base stages. */
export function imageConfig(dockerfile: Dockerfile, name: string): ImageConfig {
  let user: string | undefined
  let entrypoint: string[] = []
  let cmd: string[] = []
  let healthcheck: string[] | undefined
  let workdir: string | undefined
  const env: Record<string, string> = {}
  const exposed: number[] = []
  for (const stage of stageChain(dockerfile, name).chain) {
    for (const { keyword, args, line } of stage.instructions) {
      if (keyword === 'USER') user = args
      else if (keyword === 'WORKDIR') workdir = path.posix.resolve(workdir ?? '/', args)
      else if (keyword === 'CMD') cmd = execForm(args)
      else if (keyword === 'ENTRYPOINT') {
        entrypoint = execForm(args)
        cmd = [] // Docker: setting ENTRYPOINT clears a CMD inherited from the base
      } else if (keyword === 'EXPOSE') exposed.push(...args.split(/\s+/).map((p) => Number.parseInt(p, 10)))
      else if (keyword === 'ENV') {
        for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[key!] = value!.replace(/^"|"$/g, '')
      } else if (keyword === 'HEALTHCHECK') {
        if (/^NONE$/i.test(args)) healthcheck = undefined
        else {
          const match = /\bCMD\s+(\[.*\])$/s.exec(args)
          if (!match) throw new Error(`line ${line}: HEALTHCHECK must use CMD in exec form`)
          healthcheck = execForm(match[1]!)
        }
      }
    }
  }
  return { user, command: [...entrypoint, ...cmd], healthcheck, env, exposed, workdir }
}

export interface Copy {
  stage: Stage
  from: string | undefined
  sources: string[]
  destination: string
  line: number
}

/** Every COPY/ADD of the file with its --from and its sources. */
export function copies(dockerfile: Dockerfile): Copy[] {
  return dockerfile.stages.flatMap((stage) => stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const words = i.args.startsWith('[') ? execForm(i.args) : i.args.split(/\s+/)
      const flags = words.filter((w) => w.startsWith('--'))
      const paths = words.filter((w) => !w.startsWith('--'))
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length)
      return { stage, from, sources: paths.slice(0, -1), destination: paths.at(-1)!, line: i.line }
    }))
}

/** The shell commands of a stage's RUN instructions (the `--mount` flags left out). */
export function runCommands(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args.replace(/^(--\S+\s+)+/, ''))
}
