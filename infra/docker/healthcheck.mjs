// The images' HEALTHCHECK (slim Node images have no curl): `node healthcheck.mjs [path]` asks
// http://127.0.0.1:$PORT<path> (default /healthz) and exits 0 on a 2xx answer within 2 s, 1 otherwise.
const path = process.argv[2] ?? '/healthz'
const port = process.env.PORT

if (!port || !/^\d+$/.test(port)) {
  console.error('healthcheck: PORT must be set to the port the process listens on')
  process.exit(1)
}

try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) })
  if (!response.ok) console.error(`healthcheck: ${path} answered ${response.status}`)
  process.exit(response.ok ? 0 : 1)
} catch (err) {
  console.error(`healthcheck: ${path} unreachable: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
}
