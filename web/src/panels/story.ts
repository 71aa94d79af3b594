// The work's story tools: the AI outline, the Snowflake method and the long-text review.

import { get, post } from '../api'
import { h, replace } from '../dom'
import { field, onSubmit } from '../forms'
import { t } from '../i18n'
import { messageLine } from '../shell'
import type { AiTask, OutlineResult, ReviewFinding, ReviewResult, TaskStatus, Work } from '../types'
import { aiSource } from './ai-source'
import { runTask } from './run-task'
import { snowflakePanel } from './snowflake'

export function storyPanel(
  work: Pick<Work, 'id' | 'genre'>,
  canWrite: boolean,
  onChaptersChanged: () => void,
): HTMLElement {
  return h(
    'div',
    { class: 'story-tools' },
    canWrite ? tool(t('story.outline'), 'story-outline', outlinePanel(work, onChaptersChanged)) : null,
    tool(t('story.snowflake'), 'story-snowflake', snowflakePanel(work, canWrite)),
    canWrite ? tool(t('story.review'), 'story-review', reviewPanel(work)) : null,
  )
}

function tool(title: string, testid: string, body: HTMLElement): HTMLElement {
  return h('section', { class: 'story-tool', 'data-testid': testid }, h('h3', {}, title), body)
}

const fetchAiTask = (taskId: string) => get<AiTask>(`/ai/tasks/${taskId}`)

function showTask(status: HTMLElement, task: AiTask): void {
  status.dataset.status = task.status
  const working: TaskStatus[] = ['queued', 'processing']
  replace(
    status,
    h('span', { class: `status ${task.status}` }, t(`status.${task.status}`)),
    working.includes(task.status) ? h('progress', { max: 100, value: task.progress ?? 0 }) : null,
    working.includes(task.status) ? h('span', { class: 'muted' }, `${task.progress ?? 0}%`) : null,
    aiSource(task.provider, task.model, task.hint),
  )
}

function outlinePanel(work: Pick<Work, 'id' | 'genre'>, onChaptersChanged: () => void): HTMLElement {
  const prompt = h('textarea', {
    rows: 3,
    maxlength: 5000,
    required: true,
    placeholder: t('story.premisePlaceholder'),
    'data-testid': 'outline-prompt',
  })
  const genre = h('input', { maxlength: 50, value: work.genre ?? '', 'data-testid': 'outline-genre' })
  const count = h('input', { type: 'number', min: 1, max: 60, value: 10, class: 'short', required: true, 'data-testid': 'outline-chapters' })
  const apply = h('input', { type: 'checkbox', 'data-testid': 'outline-apply' })
  const status = h('div', { class: 'task-status', 'data-testid': 'outline-status' })
  const message = messageLine('outline-message')
  const result = h('ol', { class: 'outline', 'data-testid': 'outline-result' })
  const start = h('button', { type: 'submit', class: 'primary', 'data-testid': 'outline-start' }, t('story.generate'))

  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: onSubmit(() => {
        replace(result)
        return runTask({
          status,
          message,
          button: start,
          fetch: fetchAiTask,
          show: showTask,
          start: () =>
            post('/ai/outline', {
              work_id: work.id,
              prompt: prompt.value.trim(),
              genre: genre.value.trim() || null,
              chapters: Number(count.value),
              apply: apply.checked,
            }),
          onDone: (task) => {
            if (task.status !== 'completed') return
            const outline = task.result as OutlineResult
            replace(
              result,
              outline.chapters.map((chapter) =>
                h(
                  'li',
                  { class: 'outline-chapter', 'data-testid': 'outline-chapter' },
                  h('strong', {}, chapter.title),
                  h('p', { class: 'muted' }, chapter.summary),
                ),
              ),
            )
            if (outline.applied) {
              message.info(t('story.applied'))
              onChaptersChanged()
            }
          },
        })
      }),
    },
    field(t('story.premise'), prompt),
    h(
      'div',
      { class: 'row' },
      field(t('story.genre'), genre),
      field(t('story.chapterCount'), count),
    ),
    h('label', { class: 'check' }, apply, t('story.apply')),
    start,
    status,
    message,
    result,
  )
  return form
}

function reviewPanel(work: Pick<Work, 'id'>): HTMLElement {
  const status = h('div', { class: 'task-status', 'data-testid': 'review-status' })
  const message = messageLine('review-message')
  const findings = h('ul', { class: 'findings', 'data-testid': 'review-findings' })
  const start = h('button', { class: 'primary', 'data-testid': 'review-start' }, t('story.startReview'))
  start.addEventListener('click', () => {
    replace(findings)
    void runTask({
      status,
      message,
      button: start,
      fetch: fetchAiTask,
      show: showTask,
      start: () => post('/ai/review', { work_id: work.id }),
      onDone: (task) => {
        if (task.status !== 'completed') return
        const found = (task.result as ReviewResult).findings
        replace(
          findings,
          found.length
            ? [
                h('li', { class: 'muted', 'data-testid': 'review-count' }, t('story.findings').replace('{n}', String(found.length))),
                ...found.map((finding) => findingRow(work, finding)),
              ]
            : h('li', { class: 'muted', 'data-testid': 'review-none' }, t('story.noFindings')),
        )
      },
    })
  })
  return h('div', { class: 'stack' }, h('p', { class: 'hint' }, t('story.reviewHint')), start, status, message, findings)
}

function findingRow(work: Pick<Work, 'id'>, finding: ReviewFinding): HTMLElement {
  return h(
    'li',
    { class: 'finding', 'data-testid': 'review-finding', 'data-kind': finding.kind, 'data-chapter-id': finding.chapter_id },
    h(
      'div',
      { class: 'finding-head' },
      h('span', { class: 'badge' }, t(`story.kind.${finding.kind}`)),
      h('span', { class: 'finding-message' }, finding.message),
      h(
        'a',
        { href: `/works/${work.id}/chapters/${finding.chapter_id}`, 'data-link': true, 'data-testid': 'review-finding-link' },
        t('story.open'),
      ),
    ),
    finding.excerpt ? h('blockquote', { class: 'excerpt' }, finding.excerpt) : null,
  )
}
