// The frame around every page: the top bar (brand, language switch, user) and messages.

import { ApiError, post } from './api'
import { h } from './dom'
import { language, setLanguage, t } from './i18n'
import { signedInNav } from './nav'
import { navigate } from './router'
import { currentSession, saveSession } from './session'

export function topBar(): HTMLElement {
  const session = currentSession()
  const switchLanguage = h(
    'button',
    {
      class: 'link',
      'data-testid': 'lang-switch',
      title: t('shell.language'),
      onclick: () => {
        setLanguage(language() === 'zh' ? 'en' : 'zh')
        location.reload()
      },
    },
    language() === 'zh' ? 'English' : '中文',
  )
  const user = session
    ? h(
        'span',
        { class: 'user' },
        signedInNav(),
        h('span', { 'data-testid': 'whoami' }, session.username),
        h('button', { class: 'link', 'data-testid': 'sign-out', onclick: signOut }, t('shell.signOut')),
      )
    : null
  return h(
    'header',
    { class: 'topbar' },
    h('a', { href: session ? '/works' : '/login', 'data-link': true, class: 'brand' }, t('app.name')),
    h('span', { class: 'spacer' }),
    switchLanguage,
    user,
  )
}

async function signOut(): Promise<void> {
  const session = currentSession()
  try {
    if (session) await post('/auth/logout', { refresh_token: session.refresh_token })
  } catch {
    // Signing out locally matters more than telling the server.
  }
  saveSession(null)
  navigate('/login')
}

/** A message line; `show(error)` renders an API error with its code and detail. */
export function messageLine(testid = 'message'): HTMLElement & {
  show(what: unknown): void
  info(text: string): void
  clear(): void
} {
  const line = h('div', { class: 'message', role: 'status', 'data-testid': testid, hidden: true })
  return Object.assign(line, {
    show(what: unknown) {
      line.hidden = false
      line.className = 'message error'
      line.setAttribute('role', 'alert')
      line.textContent = describeError(what)
      if (what instanceof ApiError) line.dataset.code = String(what.code)
    },
    info(text: string) {
      line.hidden = false
      line.className = 'message info'
      line.setAttribute('role', 'status')
      line.textContent = text
      delete line.dataset.code
    },
    clear() {
      line.hidden = true
      line.textContent = ''
    },
  })
}

export function describeError(what: unknown): string {
  if (what instanceof ApiError) return `${what.describe()} [${what.code}]`
  if (what instanceof Error) return what.message
  return String(what)
}
