// Sign in and sign up (email code, then register).

import { anonymousPost, sessionFrom, type TokensOut } from '../api'
import { h } from '../dom'
import { attempt, field, submitWith } from '../forms'
import { t } from '../i18n'
import { navigate } from '../router'
import { saveSession } from '../session'
import { messageLine, topBar } from '../shell'

function afterSignIn(tokens: TokensOut): void {
  saveSession(sessionFrom(tokens))
  const next = new URLSearchParams(location.search).get('next')
  navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/works', { replace: true })
}

export function signInPage(root: HTMLElement): void {
  const account = h('input', { name: 'account', autocomplete: 'username', required: true, 'data-testid': 'login-account' })
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'data-testid': 'login-password',
  })
  const message = messageLine()
  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: submitWith(message, async () =>
        afterSignIn(await anonymousPost<TokensOut>('/auth/login', { email: account.value.trim(), password: password.value })),
      ),
    },
    h('h1', {}, t('auth.signIn')),
    field(t('auth.account'), account),
    field(t('auth.password'), password),
    message,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, t('auth.signIn')),
    h('p', { class: 'muted' }, t('auth.noAccount'), ' ', h('a', { href: '/signup', 'data-link': true }, t('auth.signUp'))),
  )
  root.append(topBar(), h('main', { class: 'page' }, form))
  account.focus()
}

export function signUpPage(root: HTMLElement): void {
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, 'data-testid': 'signup-email' })
  const code = h('input', {
    name: 'code',
    inputmode: 'numeric',
    pattern: '\\d{6}',
    maxlength: 6,
    required: true,
    'data-testid': 'signup-code',
  })
  const username = h('input', { name: 'username', autocomplete: 'nickname', required: true, 'data-testid': 'signup-username' })
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 8,
    required: true,
    'data-testid': 'signup-password',
  })
  const message = messageLine()
  const sendCode = h(
    'button',
    {
      type: 'button',
      'data-testid': 'signup-send-code',
      onclick: async () => {
        message.clear()
        if (!email.reportValidity()) return
        await attempt(
          message,
          async () => {
            await anonymousPost('/auth/code', { email: email.value.trim() })
            message.info(t('auth.codeSent'))
            code.focus()
            countdown(sendCode, 60)
          },
          { buttons: [sendCode], untilReleased: true },
        )
      },
    },
    t('auth.sendCode'),
  )
  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: submitWith(message, async () =>
        afterSignIn(
          await anonymousPost<TokensOut>('/auth/register', {
            email: email.value.trim(),
            code: code.value.trim(),
            username: username.value.trim(),
            password: password.value,
          }),
        ),
      ),
    },
    h('h1', {}, t('auth.signUp')),
    h('div', { class: 'row' }, field(t('auth.email'), email), sendCode),
    field(t('auth.code'), code),
    field(t('auth.username'), username),
    h('p', { class: 'hint' }, t('auth.usernameHint')),
    field(t('auth.newPassword'), password),
    message,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'signup-submit' }, t('auth.signUp')),
    h('p', { class: 'muted' }, t('auth.haveAccount'), ' ', h('a', { href: '/login', 'data-link': true }, t('auth.signIn'))),
  )
  root.append(topBar(), h('main', { class: 'page' }, form))
  email.focus()
}

function countdown(button: HTMLButtonElement, seconds: number): void {
  const label = button.textContent
  const tick = () => {
    if (!button.isConnected) return
    if (seconds <= 0) {
      button.disabled = false
      button.textContent = label
      return
    }
    button.textContent = `${label} (${seconds--})`
    setTimeout(tick, 1000)
  }
  tick()
}
