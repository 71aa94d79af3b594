// The REST client: the envelope `{code, message, data}`, bearer tokens, one refresh on 401.

import { language, t } from './i18n'
import { currentSession, saveSession, type Session } from './session'

/** A failed call, as the server described it: `{code, message, error, fields}`. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly status: number,
    readonly detail: unknown = null,
    readonly fields: Record<string, string> | null = null,
  ) {
    super(message)
  }

  /** One line for the user: the message, then the detail when it adds something. */
  describe(): string {
    const parts = [this.message]
    const detail = detailText(this.detail)
    if (detail && detail !== this.message) parts.push(detail)
    if (this.fields) {
      parts.push(
        Object.entries(this.fields)
          .map(([field, why]) => `${field}: ${why}`)
          .join('; '),
      )
    }
    return parts.join(' — ')
  }
}

function detailText(detail: unknown): string {
  if (detail === null || detail === undefined || detail === '') return ''
  if (typeof detail === 'string') return detail
  try {
    return JSON.stringify(detail)
  } catch {
    return String(detail)
  }
}

export interface TokensOut {
  user_id: number
  username: string
  token: string
  refresh_token: string
}

let refreshing: Promise<boolean> | null = null
let signedOutHandler: () => void = () => {}

/** What to do when the session cannot be renewed (the app goes to the sign-in page). */
export function onSignedOut(handler: () => void): void {
  signedOutHandler = handler
}

export function sessionFrom(tokens: TokensOut): Session {
  return {
    user_id: tokens.user_id,
    username: tokens.username,
    token: tokens.token,
    refresh_token: tokens.refresh_token,
  }
}

/** Rotate the refresh token once, shared by every caller that hit a 401 meanwhile. */
export function refreshSession(): Promise<boolean> {
  const session = currentSession()
  if (!session) return Promise.resolve(false)
  refreshing ??= (async () => {
    try {
      const tokens = await request<TokensOut>('POST', '/auth/refresh', {
        body: { refresh_token: session.refresh_token },
        anonymous: true,
      })
      saveSession(sessionFrom(tokens))
      return true
    } catch {
      saveSession(null)
      signedOutHandler()
      return false
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

interface Options {
  body?: unknown
  query?: Record<string, string | number | boolean | null | undefined>
  anonymous?: boolean
}

async function request<T>(method: string, path: string, options: Options = {}): Promise<T> {
  const url = new URL(`/api/v1${path}`, location.origin)
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(key, String(value))
  }
  const headers: Record<string, string> = { 'Accept-Language': language() }
  const session = currentSession()
  if (session && !options.anonymous) headers.Authorization = `Bearer ${session.token}`
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
  } catch (error) {
    throw new ApiError(-1, t('error.network'), 0, String(error))
  }
  let envelope: any = null
  try {
    envelope = await response.json()
  } catch {
    envelope = null
  }
  if (response.ok && envelope && envelope.code === 0) return envelope.data as T
  if (envelope && typeof envelope.code === 'number' && envelope.message) {
    throw new ApiError(
      envelope.code,
      envelope.message,
      response.status,
      envelope.error ?? null,
      envelope.fields ?? null,
    )
  }
  throw new ApiError(response.status, `${t('error.http')} ${response.status}`, response.status)
}

/** Call the API as the signed-in user; a 401 triggers one token refresh and one retry. */
export async function call<T>(method: string, path: string, options: Options = {}): Promise<T> {
  try {
    return await request<T>(method, path, options)
  } catch (error) {
    const expired = error instanceof ApiError && error.status === 401 && !options.anonymous
    if (expired && currentSession() && (await refreshSession())) {
      return request<T>(method, path, options)
    }
    throw error
  }
}

export const get = <T>(path: string, query?: Options['query']) => call<T>('GET', path, { query })
export const post = <T>(path: string, body?: unknown) => call<T>('POST', path, { body })
export const patch = <T>(path: string, body: unknown) => call<T>('PATCH', path, { body })
export const put = <T>(path: string, body: unknown) => call<T>('PUT', path, { body })
export const del = <T>(path: string) => call<T>('DELETE', path)
export const anonymousPost = <T>(path: string, body: unknown) =>
  call<T>('POST', path, { body, anonymous: true })

export interface Page<T> {
  total: number
  page: number
  page_size: number
  items: T[]
}
