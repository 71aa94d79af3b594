// Boot: routes, the signed-in guard, and the page language.

import './style.css'
import './pages.css'
import { onSignedOut } from './api'
import { h } from './dom'
import { language, t } from './i18n'
import { resetPasswordPage, signInPage, signUpPage } from './pages/auth'
import { accountPage } from './pages/account'
import { adminReportsPage } from './pages/admin-reports'
import { chapterPage } from './pages/chapter'
import { materialsLibraryPage } from './pages/materials'
import { membershipPage } from './pages/membership'
import { searchPage } from './pages/search'
import { trashPage } from './pages/trash'
import { workPage } from './pages/work'
import { worksPage } from './pages/works'
import { navigate, route, startRouter, type Page } from './router'
import { currentSession } from './session'
import { topBar } from './shell'

/** Pages that need a session send the user to sign in first, and back afterwards. */
function signedIn(page: Page): Page {
  return (root, params) => {
    if (!currentSession()) {
      navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true })
      return
    }
    return page(root, params)
  }
}

document.documentElement.lang = language() === 'zh' ? 'zh-CN' : 'en'
document.title = t('app.title')
onSignedOut(() => navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true }))

route('/', (_root) => {
  // Payment providers return to `/?order_no=`: that order's outcome is on the membership page.
  const order = new URLSearchParams(location.search).get('order_no')
  const home = order ? `/membership?order_no=${encodeURIComponent(order)}` : '/works'
  navigate(currentSession() ? home : '/login', { replace: true })
})
route('/login', signInPage)
route('/signup', signUpPage)
route('/reset-password', resetPasswordPage)
route('/works', signedIn(worksPage))
route('/works/:id', signedIn((root, params) => workPage(root, params as { id: string })))
route('/account', signedIn(accountPage))
route('/membership', signedIn(membershipPage))
route('/search', signedIn(searchPage))
route('/trash', signedIn(trashPage))
route('/materials', signedIn(materialsLibraryPage))
route('/admin/reports', signedIn(adminReportsPage))
route(
  '/works/:workId/chapters/:chapterId',
  signedIn((root, params) => chapterPage(root, params as { workId: string; chapterId: string })),
)
startRouter(document.getElementById('app')!, (root) => {
  root.append(
    topBar(),
    h('main', { class: 'page' }, h('h1', {}, t('notFound.title')), h('a', { href: '/', 'data-link': true }, t('notFound.home'))),
  )
})
