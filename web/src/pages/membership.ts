// Membership: my level, what it allows and how much of today's quota is used, the plans on sale
// (bought through the sandbox pay page or Stripe checkout), and my orders.

import { get, post, type Page } from '../api'
import { formatTime, h, replace } from '../dom'
import { attempt } from '../forms'
import { language, t } from '../i18n'
import { messageLine, topBar } from '../shell'

interface Limits {
  works: number | null
  ai_per_minute: number | null
  ai_per_day: number | null
  exports_per_day: number | null
  ai_continue_max_chars: number
}

interface Price {
  plan_type: string
  name: string
  name_en: string
  days: number
  amount: string
  currency: string
}

interface Level {
  level: string
  name: string
  name_en: string
  limits: Limits
  prices: Price[]
}

interface Mine {
  level: string
  level_name: string
  expire_at: string | null
  limits: Limits
  usage: { works: number; ai_today: number; exports_today: number }
}

interface Order {
  order_no: string
  level: string
  plan_type: string
  amount: string
  currency: string
  status: string
  payment_method: string
  expire_time: string | null
  created_at: string
}

/** Go to pay. The sandbox's page is served by this same server: open it here, whatever public
 * address the server was configured with; Stripe's checkout is elsewhere. */
function openPayPage(payUrl: string): void {
  const url = new URL(payUrl, location.origin)
  location.assign(url.pathname.startsWith('/api/v1/payments/sandbox/') ? `${url.pathname}${url.search}` : url.href)
}

const named = (thing: { name: string; name_en: string }) => (language() === 'zh' ? thing.name : thing.name_en)
const limit = (value: number | null) => (value === null ? t('member.unlimited') : String(value))

/** "used / limit" with a bar; `testid` names the row for tests. */
function meter(label: string, used: number, allowed: number | null, testid: string): HTMLElement {
  const bar = h('progress', { max: allowed ?? 1, value: allowed === null ? 0 : Math.min(used, allowed) })
  return h(
    'div',
    { class: 'meter', 'data-testid': testid, 'data-used': used, 'data-limit': allowed ?? 'none' },
    h('span', {}, label),
    bar,
    h('span', { class: 'muted' }, `${used} / ${limit(allowed)}`),
  )
}

export async function membershipPage(root: HTMLElement): Promise<void> {
  const main = h('main', { class: 'page' })
  const message = messageLine()
  root.append(topBar(), main)
  main.append(h('h1', {}, t('member.title')), message)
  const current = h('section', { class: 'card stack', 'data-testid': 'member-current' })
  const plans = h('div', { class: 'plans', 'data-testid': 'member-plans' })
  const orders = h('ul', { class: 'orders', 'data-testid': 'member-orders' })
  const provider = h('select', { 'data-testid': 'member-provider', title: t('member.provider') })
  main.append(
    current,
    h('section', { class: 'card stack' }, h('div', { class: 'row between' }, h('h2', {}, t('member.plans')), provider), plans),
    h('section', { class: 'card stack' }, h('h2', {}, t('member.orders')), orders),
  )

  const buy = (level: string, price: Price) =>
    attempt(message, async () => {
      const placed = await post<Order & { pay_url: string }>('/orders', { level, plan_type: price.plan_type, provider: provider.value })
      openPayPage(placed.pay_url) // the sandbox page or Stripe checkout; both come back here
    })

  const orderRow = (order: Order): HTMLElement =>
    h(
      'li',
      { class: 'work', 'data-testid': 'order', 'data-status': order.status, 'data-order-no': order.order_no },
      h('span', { class: 'mono' }, order.order_no),
      h('span', {}, `${t(`member.level.${order.level}`)} · ${t(`member.period.${order.plan_type}`)}`),
      h('span', {}, `${order.amount} ${order.currency}`),
      h('span', { class: 'badge' }, t(`member.status.${order.status}`)),
      h('span', { class: 'muted' }, formatTime(order.created_at)),
      order.status === 'pending'
        ? [
            h(
              'button',
              {
                class: 'small primary',
                'data-testid': 'order-pay',
                onclick: () =>
                  attempt(message, async () => {
                    const { pay_url } = await post<{ pay_url: string }>(`/orders/${order.order_no}/pay`)
                    openPayPage(pay_url)
                  }),
              },
              t('member.pay'),
            ),
            h(
              'button',
              {
                class: 'small danger',
                'data-testid': 'order-cancel',
                onclick: () =>
                  attempt(message, async () => {
                    await post(`/orders/${order.order_no}/cancel`)
                    await load()
                  }),
              },
              t('common.cancel'),
            ),
          ]
        : null,
    )

  const load = async () => {
    const [mine, table, offered, placed] = await Promise.all([
      get<Mine>('/membership'),
      get<{ levels: Level[] }>('/membership/plans'),
      get<{ providers: string[] }>('/payments/providers'),
      get<Page<Order>>('/orders', { page_size: 20 }),
    ])
    replace(
      current,
      h('h2', {}, t('member.current')),
      h(
        'p',
        { 'data-testid': 'member-level', 'data-level': mine.level },
        h('strong', {}, t(`member.level.${mine.level}`)),
        mine.expire_at ? h('span', { class: 'muted' }, ` · ${t('member.until')} ${formatTime(mine.expire_at)}`) : null,
      ),
      meter(t('member.aiToday'), mine.usage.ai_today, mine.limits.ai_per_day, 'member-ai'),
      meter(t('member.exportsToday'), mine.usage.exports_today, mine.limits.exports_per_day, 'member-exports'),
      meter(t('member.works'), mine.usage.works, mine.limits.works, 'member-works'),
      h('p', { class: 'muted' }, `${t('member.aiPerMinute')}: ${limit(mine.limits.ai_per_minute)} · ${t('member.continueMax')}: ${mine.limits.ai_continue_max_chars}`),
    )
    replace(provider, offered.providers.map((name) => h('option', { value: name }, t(`member.provider.${name}`))))
    provider.hidden = offered.providers.length < 2
    replace(
      plans,
      table.levels.map((level) =>
        h(
          'div',
          { class: `card plan${level.level === mine.level ? ' current' : ''}`, 'data-testid': 'plan', 'data-level': level.level },
          h('h3', {}, named(level)),
          h(
            'ul',
            { class: 'plain' },
            h('li', {}, `${t('member.works')}: ${limit(level.limits.works)}`),
            h('li', {}, `${t('member.aiPerDay')}: ${limit(level.limits.ai_per_day)}`),
            h('li', {}, `${t('member.exportsPerDay')}: ${limit(level.limits.exports_per_day)}`),
            h('li', {}, `${t('member.continueMax')}: ${level.limits.ai_continue_max_chars}`),
          ),
          level.prices.map((price) =>
            h(
              'button',
              {
                class: 'small',
                'data-testid': 'plan-buy',
                'data-plan': price.plan_type,
                disabled: offered.providers.length === 0,
                onclick: () => buy(level.level, price),
              },
              `${named(price)} · ${price.amount} ${price.currency}`,
            ),
          ),
        ),
      ),
    )
    replace(orders, placed.items.length ? placed.items.map(orderRow) : h('li', { class: 'muted' }, t('member.noOrders')))
  }
  await attempt(message, load)
  // Back from the pay page (the sandbox's or Stripe's): say how that order ended.
  const returned = new URLSearchParams(location.search).get('order_no')
  if (returned) {
    const order = await attempt(message, () => get<Order>(`/orders/${encodeURIComponent(returned)}`))
    if (order) message.info(t('member.returned').replace('{no}', order.order_no).replace('{status}', t(`member.status.${order.status}`)))
  }
}
