import type { ColumnType, Generated } from 'kysely'

/** A text primary key the database fills with a random UUID. */
export type GeneratedId = Generated<string>
/** Set by the database on insert, never updated by us. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>
/** Set on insert and kept current by the `set_updated_at` trigger. */
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string | undefined>
/** A nullable timestamp column. */
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
/** A timestamp column with a database default. */
export type TimestampWithDefault = ColumnType<Date, Date | string | undefined, Date | string>
/** bigint comes back from pg as a string; convert at the edge. */
export type BigIntColumn = ColumnType<string, string | number | bigint, string | number | bigint>
