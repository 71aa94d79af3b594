// Boot: routes, the signed-in guard, and the page language.

import './style.css'
import { onSignedOut } from './api'
import { h } from './dom'
import { language, t } from './i18n'
import { resetPasswordPage, signInPage, signUpPage } from './pages/auth'
import { chapterPage } from './pages/chapter'
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

route('/', (_root) => navigate(currentSession() ? '/works' : '/login', { replace: true }))
route('/login', signInPage)
route('/signup', signUpPage)
route('/reset-password', resetPasswordPage)
route('/works', signedIn(worksPage))
route('/works/:id', signedIn((root, params) => workPage(root, params as { id: string })))
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
