import type { Role } from './catalogue.js';

/** Who is calling: an API key's id, its role and, for a provider key, its provider. */
export interface Principal {
  keyId: string;
  role: Role;
  providerId: string | null;
}
