// The signed-in user's tokens, kept in localStorage so a reload stays signed in.

export interface Session {
  user_id: number
  username: string
  token: string
  refresh_token: string
}

const KEY = 'inkweave.session'
const listeners = new Set<(session: Session | null) => void>()

export function currentSession(): Session | null {
  try {
    const raw = localStorage.getItem(KEY)
    return raw ? (JSON.parse(raw) as Session) : null
  } catch {
    return null
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session))
  else localStorage.removeItem(KEY)
  for (const listener of listeners) listener(session)
}

/** Called whenever tokens rotate or the user signs out; returns an unsubscribe function. */
export function onSessionChange(listener: (session: Session | null) => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
