// Sign in, sign up (email code, then register), and reset a forgotten password by an emailed code.

import { anonymousPost, sessionFrom, type TokensOut } from '../api'
import { h } from '../dom'
import { attempt, field, type Message, submitWith } from '../forms'
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
    h('p', { class: 'muted' }, h('a', { href: '/reset-password', 'data-link': true, 'data-testid': 'login-forgot' }, t('auth.forgot'))),
  )
  root.append(topBar(), h('main', { class: 'page' }, form))
  account.focus()
}

type CodePurpose = 'register' | 'reset_password'

function codeInput(testid: string): HTMLInputElement {
  return h('input', { name: 'code', inputmode: 'numeric', pattern: '\\d{6}', maxlength: 6, required: true, 'data-testid': testid })
}

/** "Send code": emails a code for `purpose` to the address in `email`, then counts down its minute. */
function sendCodeButton(email: HTMLInputElement, code: HTMLInputElement, message: Message, purpose: CodePurpose, testid: string): HTMLButtonElement {
  const button: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      'data-testid': testid,
      onclick: async () => {
        message.clear()
        if (!email.reportValidity()) return
        await attempt(
          message,
          async () => {
            await anonymousPost('/auth/code', { email: email.value.trim(), purpose })
            message.info(t('auth.codeSent'))
            code.focus()
            countdown(button, 60)
          },
          { buttons: [button], untilReleased: true },
        )
      },
    },
    t('auth.sendCode'),
  )
  return button
}

export function resetPasswordPage(root: HTMLElement): void {
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, 'data-testid': 'reset-email' })
  const code = codeInput('reset-code')
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 8,
    required: true,
    'data-testid': 'reset-password',
  })
  const message = messageLine()
  const signIn = () => h('a', { href: '/login', 'data-link': true }, t('auth.signIn'))
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: submitWith(message, async () => {
        await anonymousPost('/auth/password-reset', {
          email: email.value.trim(),
          code: code.value.trim(),
          new_password: password.value,
        })
        form.replaceChildren(
          h('h1', {}, t('auth.resetTitle')),
          h('p', { 'data-testid': 'reset-done' }, t('auth.resetDone')),
          h('p', {}, signIn()),
        )
      }),
    },
    h('h1', {}, t('auth.resetTitle')),
    h('p', { class: 'hint' }, t('auth.resetHint')),
    h('div', { class: 'row' }, field(t('auth.email'), email), sendCodeButton(email, code, message, 'reset_password', 'reset-send-code')),
    field(t('auth.code'), code),
    field(t('auth.resetNewPassword'), password),
    message,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'reset-submit' }, t('auth.resetSubmit')),
    h('p', { class: 'muted' }, signIn()),
  )
  root.append(topBar(), h('main', { class: 'page' }, form))
  email.focus()
}

export function signUpPage(root: HTMLElement): void {
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, 'data-testid': 'signup-email' })
  const code = codeInput('signup-code')
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
  const sendCode = sendCodeButton(email, code, message, 'register', 'signup-send-code')
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
