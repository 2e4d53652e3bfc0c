import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';

/**
 * The dashboard session: an HTTP-only, signed, SameSite=Strict cookie holding only the key's id, an expiry and a
 * random session id, never the key. The principal is read again from api_keys on every request, so a revoked key
 * ends its sessions. Each POST form carries a CSRF token (an HMAC of the session id) checked on receipt; the sign-in
 * form gets one from a short-lived pre-session cookie.
 */
export const SESSION_COOKIE = 'vru_session';
export const SIGN_IN_COOKIE = 'vru_sign_in';
const SIGN_IN_MINUTES = 15;

export interface Session {
  keyId: string;
  expiresAt: number;
  sid: string;
}

export const newSessionId = (): string => randomBytes(18).toString('base64url');

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

export function readSession(request: FastifyRequest, now = Date.now()): Session | null {
  const value = readSigned(request, SESSION_COOKIE);
  const m = value ? /^([a-f0-9]{16})\.(\d+)\.([A-Za-z0-9_-]{24})$/.exec(value) : null;
  if (!m) return null;
  const session = { keyId: m[1]!, expiresAt: Number(m[2]), sid: m[3]! };
  return session.expiresAt > now ? session : null;
}

export function startSession(reply: FastifyReply, keyId: string, ttlMinutes: number, secure: boolean): Session {
  const session = { keyId, expiresAt: Date.now() + ttlMinutes * 60_000, sid: newSessionId() };
  reply.setCookie(SESSION_COOKIE, `${session.keyId}.${session.expiresAt}.${session.sid}`, cookieOptions(secure, ttlMinutes * 60));
  reply.clearCookie(SIGN_IN_COOKIE, { path: '/app' });
  return session;
}

export function endSession(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/app' });
}

/** The pre-session id the sign-in form's CSRF token is bound to; a new one is set when there is none. */
export function signInSid(request: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  const existing = readSigned(request, SIGN_IN_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{24}$/.test(existing)) return existing;
  const sid = newSessionId();
  reply.setCookie(SIGN_IN_COOKIE, sid, cookieOptions(secure, SIGN_IN_MINUTES * 60));
  return sid;
}

export const readSignInSid = (request: FastifyRequest): string | null => readSigned(request, SIGN_IN_COOKIE);
