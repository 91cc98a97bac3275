import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, csrfToken, onSessionProblem } from './api/client.ts';
import type { SessionInfo } from './api/types.ts';

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out' }
  | { status: 'signed-in'; session: SessionInfo }
  | { status: 'error'; message: string };

interface SessionContextValue {
  state: SessionState;
  /** Re-reads GET /api/v1/auth/session (after sign-in, MFA, sign-out); resolves to the new state. */
  refresh: () => Promise<SessionState>;
  /** Signs out (POST /api/v1/auth/sign-out) and forgets the session. */
  signOut: () => Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

async function readSession(): Promise<SessionState> {
  // The server sets the script-readable CSRF cookie with every session and clears both together:
  // without it there is no session to ask about, and an anonymous visit costs no request (and no 401).
  if (!csrfToken()) return { status: 'signed-out' };
  try {
    const session = await api.get<SessionInfo>('/api/v1/auth/session', { quietAuth: true });
    return { status: 'signed-in', session };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return { status: 'signed-out' };
    return { status: 'error', message: error instanceof Error ? error.message : String(error) };
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  const refresh = useCallback(async () => {
    const next = await readSession();
    setState(next);
    return next;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.post('/api/v1/auth/sign-out', undefined, { quietAuth: true });
    } finally {
      setState({ status: 'signed-out' });
    }
  }, []);

  useEffect(() => {
    void refresh();
    // Any call that finds the session ended or short of MFA re-reads it; the page guard then redirects.
    return onSessionProblem(() => void refresh());
  }, [refresh]);

  const value = useMemo(() => ({ state, refresh, signOut }), [state, refresh, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The signed-in session, for pages rendered only behind the guard. */
export function useSignedIn(): SessionInfo {
  const { state } = useSession();
  if (state.status !== 'signed-in') throw new Error('useSignedIn on a page without the sign-in guard');
  return state.session;
}

/** Where a signed-in person must go before anything else: MFA enrolment or challenge, or nowhere. */
export function mfaStep(session: SessionInfo): '/mfa/enrol' | '/mfa/challenge' | undefined {
  const { required, enrolled, verified } = session.mfa;
  if (verified) return undefined;
  if (enrolled) return '/mfa/challenge';
  return required ? '/mfa/enrol' : undefined;
}

export function can(session: SessionInfo, permission: string): boolean {
  return session.permissions.includes(permission);
}
