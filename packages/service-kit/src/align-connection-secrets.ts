// The encrypted columns of align_connections and the bindings their ciphertexts carry. Every service
// that reads or writes these columns goes through here, so a column's binding is spelled once.
import type { SecretBinding, SecretBox } from './secrets.js'

export const ENCRYPTED_CONNECTION_COLUMNS = ['encrypted_api_key', 'webhook_secret', 'previous_webhook_secret'] as const
export type EncryptedConnectionColumn = (typeof ENCRYPTED_CONNECTION_COLUMNS)[number]

export function connectionBinding(connectionId: string, column: EncryptedConnectionColumn): SecretBinding {
  return { table: 'align_connections', column, rowId: connectionId }
}

export function encryptConnectionSecret(box: SecretBox, connectionId: string, column: EncryptedConnectionColumn, plaintext: string): string {
  return box.encrypt(plaintext, connectionBinding(connectionId, column))
}

export function decryptConnectionSecret(box: SecretBox, connectionId: string, column: EncryptedConnectionColumn, ciphertext: string): string {
  return box.decrypt(ciphertext, connectionBinding(connectionId, column))
}
