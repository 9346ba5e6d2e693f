export interface LocalPostgres {
  /** postgres://… URL of the server's `postgres` database. */
  readonly url: string
  readonly port: number
  /** Whether this call started the server (false when an already running one was reused). */
  readonly started: boolean
  /** Stops the server if this call started it; safe to call twice. */
  stop(): Promise<void>
}

export interface StartLocalPostgresOptions {
  /** Keep the data directory between runs (pnpm start) instead of a throwaway one (tests). */
  persistent?: boolean
  /** Data directory for persistent mode. */
  dataDir?: string
  /** Port; persistent mode defaults to 54329, throwaway mode picks a free one. */
  port?: number
  /** Receives PostgreSQL's own log lines (default: dropped). */
  onLog?: (line: string) => void
}

export function startLocalPostgres(options?: StartLocalPostgresOptions): Promise<LocalPostgres>
export function isPostgresReachable(url: string): Promise<boolean>
export const LOCAL_POSTGRES_PORT: number
export const LOCAL_POSTGRES_PASSWORD: string
