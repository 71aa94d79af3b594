// AI actions on a chapter (continue, polish, convert), the tasks they start, and accept/reject
// of the AI text that is in the document (whoever asked for it).

import type { EditorView } from '@codemirror/view'
import { get, post } from '../api'
import { h, replace } from '../dom'
import { attempt } from '../forms'
import { t } from '../i18n'
import { aiSource, demoBadge, demoLabel } from '../panels/ai-source'
import { AlternativesView } from '../panels/alternatives'
import { pollTask } from '../poll'
import { currentSession } from '../session'
import { messageLine } from '../shell'
import type { AiTask, Chapter, TaskStatus, Work } from '../types'
import type { AiRange } from './ai-marks'
import { toCodePoints } from './text'

export type PolishStyle = 'formal' | 'casual' | 'literary'

interface Context {
  work: Pick<Work, 'id' | 'type'>
  chapter: Pick<Chapter, 'id' | 'content_id'>
  view: EditorView
  canWrite: boolean
}

interface PolishOut {
  polished_content: string
  suggestions: unknown[]
  /** False: nothing to correct, so no edit was made (and `task_id` is null). */
  changed: boolean
  demo?: boolean
  hint?: string | null
  task_id: string | null
}

interface TaskRow {
  kind: string
  status: TaskStatus
  progress: number | null
  /** Who wrote it: a model, or the offline provider's demo text with a hint on connecting one. */
  source: Pick<AiTask, 'provider' | 'model' | 'hint'> | null
  detail: string
  link: { href: string; label: string } | null
}

export class AiPanel {
  readonly element: HTMLElement
  private readonly tasks = new Map<string, TaskRow>()
  private readonly taskList = h('ul', { class: 'tasks', 'data-testid': 'ai-tasks' })
  private readonly textList = h('ul', { class: 'ai-texts', 'data-testid': 'ai-texts' })
  private readonly suggestions = h('div', { class: 'suggestions', 'data-testid': 'ai-suggestions' })
  /** Shown once no model wrote something: what demo text is, and how to connect a model. */
  private readonly demoNotice = h('div', { class: 'demo-notice', 'data-testid': 'ai-demo-notice', hidden: true })
  readonly message = messageLine('ai-message')
  private alternatives: AlternativesView | null = null

  constructor(private readonly ctx: Context) {
    this.element = h(
      'div',
      { class: 'ai-panel' },
      this.message,
      this.demoNotice,
      h('h3', {}, t('ai.inDocument')),
      this.textList,
      h('h3', {}, t('ai.tasks')),
      this.taskList,
      this.suggestions,
    )
    this.showRanges([])
  }

  /** Continue writing at the cursor; `position` is sent in code points. With `alternatives` > 1
   * they stream side by side into previews until one is picked. */
  async continueAtCursor(length: number, alternatives = 1): Promise<void> {
    const { view } = this.ctx
    const head = view.state.selection.main.head
    const position = toCodePoints(view.state.doc.toString(), head)
    await this.start('continue', async () => {
      const out = await post<{ task_id: string; status: TaskStatus; alternatives?: string[] | null }>('/ai/continue', {
        work_id: this.ctx.work.id,
        chapter_id: this.ctx.chapter.id,
        length,
        position,
        alternatives,
      })
      if (out.alternatives && out.alternatives.length > 1) {
        this.showAlternatives('continue', out.alternatives)
        return { task_id: null }
      }
      return out
    })
  }

  private showAlternatives(kind: 'continue' | 'polish', taskIds: string[]): void {
    const token = currentSession()?.token
    if (!token) return
    this.alternatives?.close()
    this.alternatives = new AlternativesView(this.ctx.chapter.content_id, taskIds, token, this.message, (picked) =>
      this.follow(kind, picked),
    )
    this.message.after(this.alternatives.element)
    this.alternatives.start()
  }

  /** Polish the selection; with `alternatives` > 1 the rewrites stream side by side into previews
   * until one is picked, which then replaces the selection. */
  async polishSelection(style: PolishStyle, alternatives = 1): Promise<void> {
    const { view } = this.ctx
    const { from, to } = view.state.selection.main
    if (from === to) {
      this.message.info(t('ai.selectFirst'))
      return
    }
    const text = view.state.doc.toString()
    if (alternatives > 1) {
      await this.start('polish', async () => {
        const out = await post<{ task_id: string; alternatives?: string[] | null }>('/ai/polish', {
          work_id: this.ctx.work.id,
          chapter_id: this.ctx.chapter.id,
          content: view.state.sliceDoc(from, to),
          style,
          start: toCodePoints(text, from),
          end: toCodePoints(text, to),
          alternatives,
        })
        this.showAlternatives('polish', out.alternatives ?? [out.task_id])
        return { task_id: null }
      })
      return
    }
    await this.start('polish', async () => {
      const out = await post<PolishOut>('/ai/polish', {
        work_id: this.ctx.work.id,
        chapter_id: this.ctx.chapter.id,
        content: view.state.sliceDoc(from, to),
        style,
        apply: true,
        start: toCodePoints(text, from),
        end: toCodePoints(text, to),
      })
      this.showSuggestions(out)
      if (!out.changed) this.message.info(t('ai.nothingToPolish'))
      return out
    })
  }

  async convertToScript(): Promise<void> {
    await this.start('convert', () =>
      post<{ task_id: string }>('/ai/convert', {
        work_id: this.ctx.work.id,
        chapter_id: this.ctx.chapter.id,
        from_type: 'novel',
        to_type: 'script',
        target: 'work',
      }),
    )
  }

  /** The AI text now in the document, one row per task, with accept and reject. */
  showRanges(ranges: AiRange[]): void {
    const byTask = new Map<string, string>()
    for (const range of ranges) {
      const text = this.ctx.view.state.sliceDoc(range.from, range.to)
      byTask.set(range.task, (byTask.get(range.task) ?? '') + text)
    }
    if (byTask.size === 0) {
      replace(this.textList, h('li', { class: 'muted' }, t('ai.noText')))
      return
    }
    replace(
      this.textList,
      [...byTask].map(([task, text]) =>
        h(
          'li',
          { class: 'ai-text', 'data-testid': 'ai-text', 'data-task': task },
          h('span', { class: 'snippet' }, text.length > 40 ? `${text.slice(0, 40)}…` : text),
          this.ctx.canWrite
            ? h(
                'span',
                { class: 'buttons' },
                h('button', { class: 'small', 'data-testid': 'ai-accept', onclick: () => this.decide(task, 'accept') }, t('ai.accept')),
                h('button', { class: 'small danger', 'data-testid': 'ai-reject', onclick: () => this.decide(task, 'reject') }, t('ai.reject')),
              )
            : null,
        ),
      ),
    )
  }

  private async decide(task: string, decision: 'accept' | 'reject' | 'cancel'): Promise<void> {
    await attempt(this.message, () => post(`/ai/tasks/${encodeURIComponent(task)}/${decision}`))
  }

  private async start(kind: string, request: () => Promise<{ task_id: string | null }>): Promise<void> {
    const started = await attempt(this.message, request)
    if (started?.task_id) this.follow(kind, started.task_id)
  }

  /** List the task and poll it until it ends. */
  private follow(kind: string, taskId: string): void {
    this.tasks.set(taskId, { kind, status: 'queued', progress: 0, source: null, detail: '', link: null })
    this.renderTasks()
    pollTask<AiTask>({
      owner: this.element,
      fetch: () => get<AiTask>(`/ai/tasks/${encodeURIComponent(taskId)}`),
      onError: (error) => this.message.show(error),
      onUpdate: (task) => {
        this.tasks.set(taskId, {
          kind,
          status: task.status,
          progress: task.progress,
          source: task.provider ? task : null,
          detail: errorText(task.error),
          link: kind === 'convert' ? resultLink(task.result) : null,
        })
        this.renderTasks()
      },
    })
  }

  private renderTasks(): void {
    replace(
      this.taskList,
      [...this.tasks].reverse().map(([id, task]) => {
        const running = task.status === 'queued' || task.status === 'processing'
        return h(
          'li',
          { class: 'task', 'data-testid': 'ai-task', 'data-task': id, 'data-status': task.status },
          h('span', {}, t(`ai.kind.${task.kind}`)),
          h('span', { class: `status ${task.status}` }, t(`status.${task.status}`)),
          running && task.progress !== null ? h('progress', { max: 100, value: task.progress }) : null,
          task.source ? this.source(task.source) : null,
          task.detail ? h('span', { class: 'muted' }, task.detail) : null,
          task.link ? h('a', { href: task.link.href, 'data-link': true, 'data-testid': 'ai-result-link' }, task.link.label) : null,
          running ? h('button', { class: 'small', 'data-testid': 'ai-cancel', onclick: () => this.decide(id, 'cancel') }, t('ai.cancel')) : null,
        )
      }),
    )
  }

  /** A model's name, or the demo badge (and the panel's demo notice, once). */
  private source(source: NonNullable<TaskRow['source']>): HTMLElement | null {
    if (source.provider !== 'offline') return aiSource(source.provider, source.model)
    if (this.demoNotice.hidden) {
      replace(this.demoNotice, demoLabel(source.hint))
      this.demoNotice.hidden = false
    }
    return demoBadge(source.hint)
  }

  private showSuggestions(out: PolishOut): void {
    const items = (out.suggestions ?? []).map((s) => h('li', {}, typeof s === 'string' ? s : JSON.stringify(s)))
    replace(
      this.suggestions,
      h('h3', {}, t('ai.suggestions')),
      out.demo ? this.source({ provider: 'offline', model: null, hint: out.hint }) : null,
      items.length ? h('ul', {}, items) : h('p', { class: 'muted' }, t('ai.noSuggestions')),
    )
  }
}

function errorText(error: unknown): string {
  if (!error) return ''
  if (typeof error === 'string') return ` — ${error}`
  const message = (error as { message?: string }).message
  return ` — ${message ?? JSON.stringify(error)}`
}

/** A conversion's result names the chapter (or work) it created: link to it. */
function resultLink(result: unknown): TaskRow['link'] {
  if (!result || typeof result !== 'object') return null
  const r = result as Record<string, unknown>
  const workId = r.work_id ?? r.new_work_id
  const chapterId = r.chapter_id ?? r.new_chapter_id
  if (workId && chapterId) return { href: `/works/${workId}/chapters/${chapterId}`, label: t('ai.openResult') }
  if (workId) return { href: `/works/${workId}`, label: t('ai.openResult') }
  return null
}
