// The bell in the top bar: the unread count, live over the notifications socket, and a list to
// read and mark read. One socket per signed-in tab, kept across pages (the top bar is rebuilt on
// every page; the socket is not).

import { get, post, refreshSession, type Page } from './api'
import { formatTime, h, replace } from './dom'
import { attempt } from './forms'
import { language, t } from './i18n'
import { currentSession, onSessionChange } from './session'
import { messageLine } from './shell'

export interface Notice {
  id: number
  kind: string
  title: string
  body: string
  data: Record<string, unknown>
  read: boolean
  read_at: string | null
  created_at: string
}

type Frame =
  | { type: 'hello'; unread: number }
  | { type: 'notification'; notification: Notice; unread: number }
  | { type: 'pong' }

type Listener = (unread: number, fresh: Notice | null) => void

// 4401: the token expired or was revoked (refresh, then reconnect); 4403 disabled; 4429 too many.
const CLOSE_UNAUTHENTICATED = 4401
const GIVE_UP = new Set([4403, 4429])

class Feed {
  unread = 0
  private socket: WebSocket | null = null
  private listeners = new Set<Listener>()
  private retryMs = 1000
  private retryTimer = 0

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    this.ensure()
    listener(this.unread, null)
    return () => this.listeners.delete(listener)
  }

  /** Counts changed here (marked read): everyone showing the count follows. */
  setUnread(unread: number): void {
    this.unread = unread
    this.emit(null)
  }

  stop(): void {
    clearTimeout(this.retryTimer)
    const socket = this.socket
    this.socket = null
    socket?.close(1000)
  }

  private emit(fresh: Notice | null): void {
    for (const listener of this.listeners) listener(this.unread, fresh)
  }

  private ensure(): void {
    const session = currentSession()
    if (this.socket || !session) return
    const url = new URL(`/api/v1/notifications/ws`, location.origin)
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    url.searchParams.set('token', session.token)
    url.searchParams.set('lang', language()) // titles and bodies come in the page's language
    const socket = new WebSocket(url)
    this.socket = socket
    socket.onmessage = (event) => {
      let frame: Frame
      try {
        frame = JSON.parse(String(event.data)) as Frame
      } catch {
        return
      }
      if (frame.type === 'pong') return
      this.retryMs = 1000
      this.unread = frame.unread
      this.emit(frame.type === 'notification' ? frame.notification : null)
    }
    socket.onclose = (event) => {
      if (this.socket !== socket) return // stopped on purpose
      this.socket = null
      if (GIVE_UP.has(event.code) || !currentSession()) return
      if (event.code === CLOSE_UNAUTHENTICATED) {
        void refreshSession().then((renewed) => renewed && this.ensure())
        return
      }
      this.retryTimer = window.setTimeout(() => this.ensure(), this.retryMs)
      this.retryMs = Math.min(this.retryMs * 2, 30_000)
    }
  }
}

const feed = new Feed()
let lastToken = currentSession()?.token ?? null
onSessionChange((session) => {
  // Signed out, or tokens rotated: the socket authenticated with the old token starts again.
  if (session?.token === lastToken) return
  lastToken = session?.token ?? null
  feed.stop()
})

const SVG = 'http://www.w3.org/2000/svg'
const BELL_PATHS = ['M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9', 'M13.73 21a2 2 0 0 1-3.46 0']

/** A bell drawn inline: the emoji showed as a box where no emoji font is installed. */
function bellIcon(): SVGSVGElement {
  const icon = document.createElementNS(SVG, 'svg')
  const attributes = { class: 'bell-icon', viewBox: '0 0 24 24', width: '18', height: '18', fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', 'data-testid': 'bell-icon' }
  for (const [name, value] of Object.entries(attributes)) icon.setAttribute(name, value)
  for (const d of BELL_PATHS) {
    const path = document.createElementNS(SVG, 'path')
    path.setAttribute('d', d)
    icon.append(path)
  }
  return icon
}

/** The bell: a button with the unread count that opens the list. */
export function notificationBell(): HTMLElement {
  const count = h('span', { class: 'bell-count', 'data-testid': 'bell-count', 'data-count': '0', hidden: true })
  const button = h(
    'button',
    { class: 'link bell', 'data-testid': 'bell', title: t('notify.title'), 'aria-label': t('notify.title'), 'aria-expanded': 'false' },
    bellIcon(),
    count,
  )
  const list = h('ul', { class: 'notices', 'data-testid': 'notifications' })
  const message = messageLine('notifications-message')
  const panel = h(
    'div',
    { class: 'notice-panel card', hidden: true, 'data-testid': 'notifications-panel' },
    h(
      'div',
      { class: 'row between' },
      h('strong', {}, t('notify.title')),
      h('button', { class: 'small', 'data-testid': 'notifications-read-all', onclick: () => readAll() }, t('notify.readAll')),
    ),
    message,
    list,
  )
  const wrapper = h('span', { class: 'bell-wrap' }, button, panel)

  const row = (notice: Notice): HTMLElement => {
    const workId = typeof notice.data.work_id === 'number' ? notice.data.work_id : null
    const title = workId ? h('a', { href: `/works/${workId}`, 'data-link': true }, notice.title) : h('strong', {}, notice.title)
    const item = h(
      'li',
      { class: notice.read ? 'notice' : 'notice unread', 'data-testid': 'notification', 'data-id': notice.id, 'data-read': String(notice.read) },
      h('div', { class: 'notice-head' }, title, h('span', { class: 'muted' }, formatTime(notice.created_at))),
      notice.body ? h('p', { class: 'notice-body' }, notice.body) : null,
    )
    if (!notice.read) {
      item.append(
        h(
          'button',
          {
            class: 'small',
            'data-testid': 'notification-read',
            onclick: () =>
              attempt(message, async () => {
                await post(`/notifications/${notice.id}/read`)
                const { unread } = await get<{ unread: number }>('/notifications/unread-count')
                item.replaceWith(row({ ...notice, read: true }))
                feed.setUnread(unread)
              }),
          },
          t('notify.markRead'),
        ),
      )
    }
    return item
  }

  const load = () =>
    attempt(message, async () => {
      const page = await get<Page<Notice>>('/notifications', { page_size: 20 })
      replace(list, page.items.length ? page.items.map(row) : h('li', { class: 'muted' }, t('notify.none')))
    })
  const readAll = () =>
    attempt(message, async () => {
      const marked = await post<{ unread: number }>('/notifications/read-all')
      feed.setUnread(marked.unread)
      await load()
    })

  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden
    button.setAttribute('aria-expanded', String(!panel.hidden))
    if (!panel.hidden) void load()
  })

  // The top bar is rebuilt on every page: a bell that has left the page stops listening.
  let shown = false
  const unsubscribe = feed.subscribe((unread, fresh) => {
    if (wrapper.isConnected) shown = true
    else if (shown) return void unsubscribe()
    count.hidden = unread === 0
    count.textContent = unread > 99 ? '99+' : String(unread)
    count.dataset.count = String(unread)
    if (fresh && !panel.hidden) {
      list.querySelector('.muted')?.remove()
      list.prepend(row(fresh))
    }
  })
  return wrapper
}
