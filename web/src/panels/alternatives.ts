// Alternatives side by side: each pane follows one alternative's preview document live (its AI
// peer streams into it; we only read), and "pick" has that peer write it into the chapter.

import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { get, post } from '../api'
import { h, replace } from '../dom'
import { attempt } from '../forms'
import { t } from '../i18n'
import { syncBase } from '../editor/collab'
import { pollTask } from '../poll'
import type { messageLine } from '../shell'
import type { AiTask } from '../types'

type MessageLine = ReturnType<typeof messageLine>

interface Pane {
  taskId: string
  doc: Y.Doc
  provider: WebsocketProvider
  text: HTMLElement
  pick: HTMLButtonElement
}

/** The preview document of alternative `taskId` of chapter `contentId` (see the README). */
export function previewDoc(contentId: string, taskId: string): string {
  return `${contentId}~alt~${taskId}`
}

export class AlternativesView {
  readonly element: HTMLElement
  private readonly panes: Pane[]
  private closed = false

  constructor(
    contentId: string,
    taskIds: string[],
    token: string,
    private readonly message: MessageLine,
    private readonly onPicked: (taskId: string) => void,
  ) {
    this.panes = taskIds.map((taskId) => {
      const doc = new Y.Doc()
      const provider = new WebsocketProvider(syncBase(), encodeURIComponent(previewDoc(contentId, taskId)), doc, {
        params: { token },
        maxBackoffTime: 5000,
      })
      const text = h('div', { class: 'alt-text', 'data-testid': 'alt-text' })
      const pick = h(
        'button',
        { class: 'small primary', 'data-testid': 'alt-pick', disabled: true, onclick: () => this.pick(taskId) },
        t('ai.alt.pick'),
      ) as HTMLButtonElement
      const ytext = doc.getText('content')
      ytext.observe(() => replace(text, ytext.toString()))
      return { taskId, doc, provider, text, pick }
    })
    this.element = h(
      'div',
      { class: 'alternatives', 'data-testid': 'ai-alternatives' },
      h('h3', {}, t('ai.alt.title')),
      h(
        'div',
        { class: 'alt-panes' },
        this.panes.map((pane, index) =>
          h(
            'div',
            { class: 'alt-pane', 'data-testid': 'alt-pane', 'data-task': pane.taskId },
            h('div', { class: 'alt-head' }, h('span', {}, t('ai.alt.nth').replace('{n}', String(index + 1))), pane.pick),
            pane.text,
          ),
        ),
      ),
      h('button', { class: 'small danger', 'data-testid': 'alt-discard', onclick: () => this.discard() }, t('ai.alt.discard')),
    )
  }

  /** Follow the alternatives; call once `element` is on the page (polling stops when it leaves). */
  start(): void {
    for (const pane of this.panes) this.follow(pane)
  }

  /** Enable a pane's pick once its alternative is written; drop the view when all have ended. */
  private follow(pane: Pane): void {
    pollTask<AiTask>({
      owner: this.element,
      intervalMs: 500,
      fetch: () => get<AiTask>(`/ai/tasks/${encodeURIComponent(pane.taskId)}`),
      onError: (error) => this.message.show(error),
      onUpdate: (task) => {
        const stage = (task.result as { stage?: string } | null)?.stage
        pane.pick.disabled = task.status !== 'processing' || stage !== 'ready'
      },
    })
  }

  private async pick(taskId: string): Promise<void> {
    const picked = await attempt(this.message, () => post(`/ai/tasks/${encodeURIComponent(taskId)}/pick`))
    if (picked === undefined) return
    this.close()
    this.onPicked(taskId)
  }

  private async discard(): Promise<void> {
    for (const pane of this.panes) {
      await attempt(this.message, () => post(`/ai/tasks/${encodeURIComponent(pane.taskId)}/cancel`))
    }
    this.close()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const pane of this.panes) {
      pane.provider.destroy()
      pane.doc.destroy()
    }
    this.element.remove()
  }
}
