import { createHmac } from 'node:crypto';

/**
 * The reference implementation of the match token (docs/matching.md), for providers and data partners to run on
 * their own side: both normalise the same identifiers the same way and key them with a matching key they share
 * and this service never holds. Without the key nobody (this service included) can test a guess of a name and
 * date of birth against a token.
 */
export interface MatchIdentifiers {
  familyName: string;
  givenName: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
}

/** Case, accents, spaces, hyphens and apostrophes do not matter: "O'Brien-Smith" = "obriensmith", "Zoë" = "zoe". */
export function normaliseName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

export function normaliseIdentifiers(ids: MatchIdentifiers): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(ids.dateOfBirth)) throw new Error('dateOfBirth must be YYYY-MM-DD');
  const family = normaliseName(ids.familyName);
  const given = normaliseName(ids.givenName);
  if (!family || !given) throw new Error('familyName and givenName must contain letters');
  return `${family}|${given}|${ids.dateOfBirth}`;
}

export function matchToken(matchingKey: string, ids: MatchIdentifiers): string {
  if (matchingKey.length < 32) throw new Error('the matching key must be at least 32 characters');
  return createHmac('sha256', matchingKey).update(normaliseIdentifiers(ids)).digest('hex');
}
