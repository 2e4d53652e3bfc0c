import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { Principal, Role } from '@vru/contracts';
import type { Sql } from '@vru/runtime';

/**
 * The dashboard session, held server-side (dashboard_sessions): the HTTP-only, SameSite=Strict cookie carries only a
 * random 256-bit token, and the table only the token's SHA-256. Nothing a client can derive from public data (a key
 * id) signs anyone in. Each request looks the session up joined with api_keys, so sign-out, an admin's revocation,
 * expiry and the key's own revocation all end it at once. Each POST form carries a CSRF token (an HMAC of the
 * session token) checked on receipt; the sign-in form gets one from a short-lived pre-session cookie.
 */
export const SESSION_COOKIE = 'vru_session';
export const SIGN_IN_COOKIE = 'vru_sign_in';
const SIGN_IN_MINUTES = 15;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface Session {
  /** The cookie's token: secret, bound to the CSRF tokens. */
  sid: string;
  /** The public handle admins list and revoke. */
  sessionId: string;
  keyId: string;
  expiresAt: number;
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export const newSessionId = (): string => randomBytes(32).toString('base64url');

export function csrfToken(secret: string, sid: string): string {
  return createHmac('sha256', secret).update(`csrf:${sid}`).digest('base64url');
}

export function csrfValid(secret: string, sid: string | null, given: unknown): boolean {
  if (!sid || typeof given !== 'string') return false;
  const expected = Buffer.from(csrfToken(secret, sid));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function cookieOptions(secure: boolean, maxAgeSeconds: number): CookieSerializeOptions {
  return { path: '/app', httpOnly: true, sameSite: 'strict', secure, signed: true, maxAge: maxAgeSeconds };
}

function readSigned(request: FastifyRequest, name: string): string | null {
  const raw = request.cookies[name];
  if (!raw) return null;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid ? unsigned.value : null;
}

/** The open session the request's cookie names, with its key's principal; null when absent, ended, expired or its key is not in force. */
export async function readSession(
  sql: Sql,
  request: FastifyRequest,
): Promise<{ session: Session; principal: Principal } | null> {
  const token = request.cookies[SESSION_COOKIE];
  if (!token || !TOKEN.test(token)) return null;
  const rows = await sql<
    { session_id: string; key_id: string; expires_at: Date; role: Role; provider_id: string | null }[]
  >`
    select s.session_id, s.key_id, s.expires_at, k.role, k.provider_id
    from dashboard_sessions s join api_keys k using (key_id)
    where s.token_hash = ${tokenHash(token)} and s.ended_at is null and s.expires_at > now()
      and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())`;
  const row = rows[0];
  if (!row) return null;
  return {
    session: { sid: token, sessionId: row.session_id, keyId: row.key_id, expiresAt: row.expires_at.getTime() },
    principal: { keyId: row.key_id, role: row.role, providerId: row.provider_id },
  };
}

export async function startSession(
  sql: Sql,
  reply: FastifyReply,
  keyId: string,
  ttlMinutes: number,
  secure: boolean,
): Promise<Session> {
  const token = newSessionId();
  const sessionId = randomUUID();
  const [row] = await sql<{ expires_at: Date }[]>`
    insert into dashboard_sessions (session_id, token_hash, key_id, expires_at)
    values (${sessionId}, ${tokenHash(token)}, ${keyId}, now() + make_interval(mins => ${ttlMinutes}))
    returning expires_at`;
  reply.setCookie(SESSION_COOKIE, token, { ...cookieOptions(secure, ttlMinutes * 60), signed: false });
  reply.clearCookie(SIGN_IN_COOKIE, { path: '/app' });
  return { sid: token, sessionId, keyId, expiresAt: row!.expires_at.getTime() };
}

/** Sign-out: the session is over in the table, so its cookie (kept or copied) no longer signs anyone in. */
export async function endSession(sql: Sql, reply: FastifyReply, session: Session | null): Promise<void> {
  if (session)
    await sql`update dashboard_sessions set ended_at = now() where session_id = ${session.sessionId} and ended_at is null`;
  reply.clearCookie(SESSION_COOKIE, { path: '/app' });
}

export interface SessionSummary {
  sessionId: string;
  keyId: string;
  role: Role;
  providerId: string | null;
  createdAt: string;
  expiresAt: string;
}

/** Open sessions, newest first (never their tokens: only hashes are stored). */
export async function listSessions(
  sql: Sql,
  filter: { keyId?: string; sessionId?: string } = {},
): Promise<SessionSummary[]> {
  interface Row {
    session_id: string;
    key_id: string;
    role: Role;
    provider_id: string | null;
    created_at: Date;
    expires_at: Date;
  }
  const rows = await sql<Row[]>`
    select s.session_id, s.key_id, k.role, k.provider_id, s.created_at, s.expires_at
    from dashboard_sessions s join api_keys k using (key_id)
    where s.ended_at is null and s.expires_at > now() ${filter.keyId ? sql`and s.key_id = ${filter.keyId}` : sql``}
      ${filter.sessionId ? sql`and s.session_id = ${filter.sessionId}` : sql``}
    order by s.created_at desc, s.session_id`;
  return rows.map((r) => ({
    sessionId: r.session_id,
    keyId: r.key_id,
    role: r.role,
    providerId: r.provider_id,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
  }));
}

/** Ends a session by its public handle; false when there is no open session with that id. */
export async function revokeSession(sql: Sql, sessionId: string): Promise<boolean> {
  const rows =
    await sql`update dashboard_sessions set ended_at = now() where session_id = ${sessionId} and ended_at is null returning 1`;
  return rows.length > 0;
}

/** The pre-session id the sign-in form's CSRF token is bound to; a new one is set when there is none. */
export function signInSid(request: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  const existing = readSigned(request, SIGN_IN_COOKIE);
  if (existing && TOKEN.test(existing)) return existing;
  const sid = newSessionId();
  reply.setCookie(SIGN_IN_COOKIE, sid, cookieOptions(secure, SIGN_IN_MINUTES * 60));
  return sid;
}

export const readSignInSid = (request: FastifyRequest): string | null => readSigned(request, SIGN_IN_COOKIE);
