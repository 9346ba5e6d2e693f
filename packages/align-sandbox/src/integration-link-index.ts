// Integration links of one organization, kept in creation order so a page is a slice, not a sort.
// Glossary: a *list* is an insertion-ordered Map with a lazily rebuilt array beside it; appends
// extend the array in place, removals (rare: a deleted entry or member) drop it until the next read.
import type { IntegrationLink } from './types.js'

class LinkList {
  private readonly byId = new Map<string, IntegrationLink>()
  private array: IntegrationLink[] | null = []

  get size(): number {
    return this.byId.size
  }

  add(link: IntegrationLink): void {
    this.byId.set(link.id, link)
    this.array?.push(link)
  }

  remove(id: string): void {
    if (this.byId.delete(id)) this.array = null
  }

  get(id: string): IntegrationLink | undefined {
    return this.byId.get(id)
  }

  slice(start: number, end: number): IntegrationLink[] {
    this.array ??= [...this.byId.values()]
    return this.array.slice(start, end)
  }

  all(): IntegrationLink[] {
    return this.slice(0, this.byId.size)
  }
}

export class IntegrationLinkIndex {
  private readonly all = new LinkList()
  private readonly byType = new Map<string, LinkList>()
  /** externalId → its links (usually one); small, so filtered by type on read. */
  private readonly byExternalId = new Map<string, IntegrationLink[]>()
  /** entityId → link id, to remove the link when its entity goes. */
  private readonly byEntityId = new Map<string, IntegrationLink>()

  get size(): number {
    return this.all.size
  }

  add(link: IntegrationLink): void {
    this.all.add(link)
    let typed = this.byType.get(link.externalType)
    if (!typed) this.byType.set(link.externalType, (typed = new LinkList()))
    typed.add(link)
    const same = this.byExternalId.get(link.externalId)
    if (same) same.push(link)
    else this.byExternalId.set(link.externalId, [link])
    this.byEntityId.set(link.entityId, link)
  }

  removeByEntityId(entityId: string): void {
    const link = this.byEntityId.get(entityId)
    if (!link) return
    this.byEntityId.delete(entityId)
    this.all.remove(link.id)
    this.byType.get(link.externalType)?.remove(link.id)
    const same = this.byExternalId.get(link.externalId)?.filter((l) => l.id !== link.id)
    if (same?.length) this.byExternalId.set(link.externalId, same)
    else this.byExternalId.delete(link.externalId)
  }

  findById(linkId: string): IntegrationLink | undefined {
    return this.all.get(linkId)
  }

  /** One page (1-based) of the links matching the optional exact filters, oldest first. */
  page(page: number, pageSize: number, filter: { externalType?: string; externalId?: string }): { data: IntegrationLink[]; total: number } {
    const start = (page - 1) * pageSize
    if (filter.externalId !== undefined) {
      const matches = (this.byExternalId.get(filter.externalId) ?? []).filter(
        (l) => filter.externalType === undefined || l.externalType === filter.externalType,
      )
      return { data: matches.slice(start, start + pageSize), total: matches.length }
    }
    const list = filter.externalType === undefined ? this.all : this.byType.get(filter.externalType)
    if (!list) return { data: [], total: 0 }
    return { data: list.slice(start, start + pageSize), total: list.size }
  }

  list(): IntegrationLink[] {
    return this.all.all()
  }
}
