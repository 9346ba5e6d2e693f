import type { User } from '@illumera/db-schema'
import { Type } from '@sinclair/typebox'
import { NullableString, Timestamp } from '../http/schemas.js'

export const UserView = Type.Object({
  id: Type.String(),
  personId: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('talent'), Type.Literal('hiring_manager')]),
  title: NullableString,
  createdAt: Timestamp,
  updatedAt: Timestamp,
})

export function toUserView(user: User, person: { id: string; title: string | null }) {
  return {
    id: user.id, personId: person.id, email: user.email, name: user.name, role: user.role, title: person.title,
    createdAt: user.created_at.toISOString(), updatedAt: user.updated_at.toISOString(),
  }
}
