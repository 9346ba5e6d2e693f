import { Type, type Static } from '@sinclair/typebox'
import { AlignExternalRefSchema, ExternalRefInput, Nullable } from './common.js'

export const AlignProjectStatusSchema = Type.Union([Type.Literal('active'), Type.Literal('archived')])

export const AlignProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  status: AlignProjectStatusSchema,
  organizationId: Type.String(),
  clientId: Nullable(Type.String()),
  timeBillingEnabled: Type.Optional(Type.Boolean()),
  externalRef: Type.Optional(Nullable(AlignExternalRefSchema)),
  createdAt: Type.String(),
  updatedAt: Type.Optional(Type.String()),
})
export type AlignProject = Static<typeof AlignProjectSchema>

export const AlignCreateProjectInputSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Nullable(Type.String())),
  timeBillingEnabled: Type.Optional(Type.Boolean()),
  externalRef: ExternalRefInput('project'),
})
export type AlignCreateProjectInput = Static<typeof AlignCreateProjectInputSchema>

export const AlignProjectUpdateSchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1 })),
  description: Type.Optional(Nullable(Type.String())),
  status: Type.Optional(AlignProjectStatusSchema),
  timeBillingEnabled: Type.Optional(Type.Boolean()),
})
export type AlignProjectUpdate = Static<typeof AlignProjectUpdateSchema>

export const AlignProjectMemberSchema = Type.Object({
  id: Type.String(),
  projectId: Type.String(),
  userId: Type.String(),
  roleOverride: Nullable(Type.String()),
  metadata: Type.Unknown(),
  externalRef: Type.Optional(Nullable(AlignExternalRefSchema)),
  createdAt: Type.String(),
})
export type AlignProjectMember = Static<typeof AlignProjectMemberSchema>

export const AlignAddProjectMemberInputSchema = Type.Object({
  roleOverride: Type.Optional(Nullable(Type.String())),
  externalRef: ExternalRefInput('project_member'),
})
export type AlignAddProjectMemberInput = Static<typeof AlignAddProjectMemberInputSchema>
