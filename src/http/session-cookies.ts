import type { FastifyReply } from 'fastify';
import type { Config } from '../platform/config/config.ts';
import type { NewSession } from '../platform/identity/sessions.ts';

/**
 * The two cookies of a web session. Over HTTPS they carry the `__Host-` prefix, which browsers
 * accept only with Secure, Path=/ and no Domain: the cookie cannot be set by a sibling subdomain
 * or sent over plain HTTP. Plain HTTP (local demo) cannot use the prefix, so the names differ.
 * - session: HttpOnly, so page scripts never see it; SameSite=Strict, so other sites' pages cannot
 *   make the browser send it.
 * - csrf: readable by the web app, which echoes it in X-CSRF-Token on every state-changing request;
 *   the server compares it with the hash stored for the session (not merely with the cookie).
 * Neither has an expiry: they end with the browser, and the server ends them sooner (idle and
 * absolute timeouts, sign-out, revocation).
 */
export function sessionCookieNames(config: Pick<Config, 'tls'>): { session: string; csrf: string } {
  return config.tls ? { session: '__Host-custos_session', csrf: '__Host-custos_csrf' } : { session: 'custos_session', csrf: 'custos_csrf' };
}

export function setSessionCookies(reply: FastifyReply, config: Pick<Config, 'tls'>, session: NewSession): void {
  const names = sessionCookieNames(config);
  const secure = Boolean(config.tls);
  reply.setCookie(names.session, session.token, { path: '/', httpOnly: true, secure, sameSite: 'strict' });
  reply.setCookie(names.csrf, session.csrfToken, { path: '/', httpOnly: false, secure, sameSite: 'strict' });
}

export function clearSessionCookies(reply: FastifyReply, config: Pick<Config, 'tls'>): void {
  const names = sessionCookieNames(config);
  const secure = Boolean(config.tls);
  reply.clearCookie(names.session, { path: '/', httpOnly: true, secure, sameSite: 'strict' });
  reply.clearCookie(names.csrf, { path: '/', httpOnly: false, secure, sameSite: 'strict' });
}
