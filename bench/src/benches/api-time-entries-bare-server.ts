// The bench's baseline process (see api-time-entries.ts): a bare Fastify route doing one plain INSERT
// into time_entries with the same pool size as the api (DB_POOL_SIZE, set by the bench for both). No auth, no validation, no transaction, no outbox.
import Fastify from 'fastify'
import pg from 'pg'

const env = process.env
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.DB_POOL_SIZE) })
// An idle client the server drops (the bench's database dropped at the end) must not crash the process, as in the api.
pool.on('error', () => {})
const app = Fastify({ logger: false })
const text = `insert into time_entries (tenant_id, company_id, project_id, engagement_id, person_id, work_date, minutes, notes)
  values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`

app.post('/bare/time-entries', async (request, reply) => {
  const body = request.body as { workDate: string; minutes: number; notes?: string }
  // The talent's engagement and person come as headers (the bench sends each connection's own).
  const { rows } = await pool.query(text, [env.TENANT_ID, env.COMPANY_ID, env.PROJECT_ID, request.headers['x-engagement'], request.headers['x-person'], body.workDate, body.minutes, body.notes ?? null])
  return reply.code(201).send({ id: rows[0].id })
})

await app.listen({ host: '127.0.0.1', port: Number(env.PORT) })
process.stdout.write('ready\n')
process.on('SIGTERM', () => {
  void app.close().then(() => pool.end())
})
