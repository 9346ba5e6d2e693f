// Validation messages that always name the field: Fastify's default says "body must NOT have additional
// properties" without saying which one, and "body must have required property 'x'".
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

function describe(error: FastifySchemaValidationError, dataVar: string): string {
  const path = `${dataVar}${error.instancePath}`
  const params = error.params as Record<string, unknown>
  if (error.keyword === 'additionalProperties') return `${path}/${String(params.additionalProperty)} is not an allowed field`
  if (error.keyword === 'required') return `${path}/${String(params.missingProperty)} is required`
  if (error.keyword === 'minProperties') return `${path} must name at least ${String(params.limit)} field(s)`
  return `${path} ${error.message ?? 'is invalid'}`
}

export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  // Unions report one error per branch; the first names the field well enough.
  return new Error(describe(errors[0]!, dataVar))
}
