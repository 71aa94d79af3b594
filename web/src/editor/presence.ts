// Who is here: every awareness peer of the chapter, people and AI agents alike.

import type { WebsocketProvider } from 'y-websocket'
import { h, replace } from '../dom'
import { t } from '../i18n'

interface PeerUser {
  name?: string
  color?: string
  kind?: string
  task_id?: string
  /** An AI peer's provider once it writes: `offline` is demo text from no model. */
  provider?: string
}

export function presenceList(provider: WebsocketProvider): { element: HTMLElement; destroy(): void } {
  const element = h('ul', { class: 'presence', 'data-testid': 'presence', 'aria-label': t('editor.present') })
  const awareness = provider.awareness
  const render = () => {
    const peers: HTMLElement[] = []
    for (const [clientId, state] of awareness.getStates()) {
      const user = (state as { user?: PeerUser }).user
      if (!user?.name) continue
      const isAi = user.kind === 'ai'
      const isSelf = clientId === awareness.clientID
      peers.push(
        h(
          'li',
          {
            class: `peer${isAi ? ' ai' : ''}`,
            'data-kind': isAi ? 'ai' : 'human',
            'data-name': user.name,
            'data-self': isSelf,
            title: isAi && user.task_id ? `${user.name} (${user.task_id})` : user.name,
          },
          h('span', { class: 'dot', style: `background:${user.color ?? '#888'}` }),
          user.name,
          isSelf ? h('span', { class: 'muted' }, ` (${t('editor.you')})`) : null,
          isAi ? h('span', { class: 'badge ai' }, 'AI') : null,
          isAi && user.provider === 'offline'
            ? h('span', { class: 'badge offline', 'data-testid': 'peer-demo', title: t('ai.demo') }, t('ai.demoPeer'))
            : null,
        ),
      )
    }
    replace(element, peers)
  }
  awareness.on('change', render)
  render()
  return { element, destroy: () => awareness.off('change', render) }
}
