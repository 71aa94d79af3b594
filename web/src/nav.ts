// The signed-in part of the top bar: where every page of the account is reached from.

import { h } from './dom'
import { t } from './i18n'
import { notificationBell } from './notifications'

const LINKS: [path: string, key: string, testid: string][] = [
  ['/search', 'nav.search', 'nav-search'],
  ['/materials', 'nav.materials', 'nav-materials'],
  ['/trash', 'nav.trash', 'nav-trash'],
  ['/membership', 'nav.membership', 'nav-membership'],
  ['/account', 'nav.account', 'nav-account'],
]

export function signedInNav(): HTMLElement {
  return h(
    'nav',
    { class: 'nav' },
    LINKS.map(([path, key, testid]) =>
      h('a', { href: path, 'data-link': true, 'data-testid': testid, 'aria-current': location.pathname === path ? 'page' : null }, t(key)),
    ),
    notificationBell(),
  )
}
