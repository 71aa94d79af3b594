// Multipart uploads (an avatar, a manuscript): the JSON client's envelope, token and one refresh
// on 401, with a FormData body instead of JSON.

import { ApiError, refreshSession } from './api'
import { language, t } from './i18n'
import { currentSession } from './session'

async function send<T>(path: string, form: FormData): Promise<T> {
  const headers: Record<string, string> = { 'Accept-Language': language() }
  const session = currentSession()
  if (session) headers.Authorization = `Bearer ${session.token}`
  let response: Response
  try {
    response = await fetch(new URL(`/api/v1${path}`, location.origin), { method: 'POST', headers, body: form })
  } catch (error) {
    throw new ApiError(-1, t('error.network'), 0, String(error))
  }
  const envelope: any = await response.json().catch(() => null)
  if (response.ok && envelope && envelope.code === 0) return envelope.data as T
  if (envelope && typeof envelope.code === 'number' && envelope.message) {
    throw new ApiError(envelope.code, envelope.message, response.status, envelope.error ?? null, envelope.fields ?? null)
  }
  throw new ApiError(response.status, `${t('error.http')} ${response.status}`, response.status)
}

/** POST `fields` (files and strings) to `path`; a 401 triggers one token refresh and one retry. */
export async function upload<T>(path: string, fields: Record<string, Blob | string>): Promise<T> {
  const form = () => {
    const data = new FormData()
    for (const [name, value] of Object.entries(fields)) data.append(name, value)
    return data
  }
  try {
    return await send<T>(path, form())
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && currentSession() && (await refreshSession())) {
      return send<T>(path, form())
    }
    throw error
  }
}
