// Account settings: profile, avatar, password change and signing out of every device.

import { get, patch, post, put } from '../api'
import { h } from '../dom'
import { attempt, field, submitWith } from '../forms'
import { t } from '../i18n'
import { navigate } from '../router'
import { currentSession, saveSession } from '../session'
import { messageLine, topBar } from '../shell'
import { upload } from '../upload'

export interface Me {
  id: number
  username: string
  email: string
  phone: string | null
  avatar_url: string | null
  member_level: string
  member_expire_at: string | null
  total_words: number
  total_works: number
  total_time: number
}

export async function accountPage(root: HTMLElement): Promise<void> {
  const main = h('main', { class: 'page narrow-page' })
  const message = messageLine()
  root.append(topBar(), main)
  main.append(h('h1', {}, t('account.title')), message)
  const loaded = await attempt(message, () => get<Me>('/users/me'))
  if (!loaded) return
  let me = loaded

  // Profile: the username (which the top bar and collaborators see) and an optional phone.
  const profileMessage = messageLine('profile-message')
  const username = h('input', { value: me.username, required: true, maxlength: 50, 'data-testid': 'profile-username' })
  const phone = h('input', { value: me.phone ?? '', inputmode: 'tel', maxlength: 21, 'data-testid': 'profile-phone' })
  const profile = h(
    'form',
    {
      class: 'card stack',
      onsubmit: submitWith(profileMessage, async () => {
        const changes: Record<string, string> = { username: username.value.trim() }
        if (phone.value.trim()) changes.phone = phone.value.trim()
        me = await patch<Me>('/users/me', changes)
        const session = currentSession()
        if (session) saveSession({ ...session, username: me.username })
        document.querySelector('[data-testid=whoami]')?.replaceChildren(me.username)
        profileMessage.info(t('account.saved'))
      }),
    },
    h('h2', {}, t('account.profile')),
    h('p', { class: 'muted', 'data-testid': 'profile-email' }, `${t('auth.email')}: ${me.email}`),
    h(
      'p',
      { class: 'muted' },
      `${t('account.totals')}: ${me.total_works} · ${me.total_words} ${t('unit.words')} · ${me.total_time} h`,
    ),
    field(t('auth.username'), username),
    field(t('account.phone'), phone),
    profileMessage,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'profile-save' }, t('common.save')),
  )

  // Avatar: the server re-encodes it; the preview is what it stored.
  const avatarMessage = messageLine('avatar-message')
  const picture = h('img', { class: 'avatar', alt: t('account.avatar'), 'data-testid': 'avatar-img', hidden: !me.avatar_url })
  const showAvatar = () => {
    if (!me.avatar_url) return
    picture.src = `${me.avatar_url}?v=${Date.now()}`
    picture.hidden = false
  }
  showAvatar()
  const file = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp,image/gif', 'data-testid': 'avatar-file' })
  const avatar = h(
    'form',
    {
      class: 'card stack',
      onsubmit: submitWith(avatarMessage, async () => {
        const chosen = file.files?.[0]
        if (!chosen) throw new Error(t('account.chooseFile'))
        me = await upload<Me>('/users/me/avatar', { file: chosen })
        showAvatar()
        avatarMessage.info(t('account.avatarSaved'))
      }),
    },
    h('h2', {}, t('account.avatar')),
    h('div', { class: 'row' }, picture, file),
    h('p', { class: 'muted' }, t('account.avatarHint')),
    avatarMessage,
    h('button', { type: 'submit', 'data-testid': 'avatar-upload' }, t('account.upload')),
  )

  // A new password ends every session, this one too: sign in again with it.
  const passwordMessage = messageLine('password-message')
  const oldPassword = h('input', { type: 'password', required: true, autocomplete: 'current-password', 'data-testid': 'password-old' })
  const newPassword = h('input', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password', 'data-testid': 'password-new' })
  const password = h(
    'form',
    {
      class: 'card stack',
      onsubmit: submitWith(passwordMessage, async () => {
        await put('/users/me/password', { old_password: oldPassword.value, new_password: newPassword.value })
        saveSession(null)
        navigate('/login')
      }),
    },
    h('h2', {}, t('account.password')),
    h('p', { class: 'muted' }, t('account.passwordHint')),
    field(t('account.oldPassword'), oldPassword),
    field(t('auth.resetNewPassword'), newPassword),
    passwordMessage,
    h('button', { type: 'submit', 'data-testid': 'password-save' }, t('account.changePassword')),
  )

  const everywhereMessage = messageLine('everywhere-message')
  const everywhere = h(
    'section',
    { class: 'card stack' },
    h('h2', {}, t('account.sessions')),
    h('p', { class: 'muted' }, t('account.everywhereHint')),
    everywhereMessage,
    h(
      'button',
      {
        class: 'danger',
        'data-testid': 'sign-out-everywhere',
        onclick: () => {
          if (!confirm(t('account.confirmEverywhere'))) return
          void attempt(everywhereMessage, async () => {
            await post('/auth/logout-all')
            saveSession(null)
            navigate('/login')
          })
        },
      },
      t('account.everywhere'),
    ),
  )
  main.append(profile, avatar, password, everywhere)
}
