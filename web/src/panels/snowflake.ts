// The Snowflake method (雪花写作法): a premise, then ten steps the AI drafts and the writer edits.

import { get, post, put } from '../api'
import { h, replace } from '../dom'
import { attempt, field, submitWith } from '../forms'
import { t } from '../i18n'
import { messageLine } from '../shell'
import type { SnowflakeStep, Work } from '../types'
import { aiSource } from './ai-source'

/** A step as saved: a draft also says who wrote it. */
interface StepSaved {
  content?: string | null
  provider?: string
  model?: string
}

export function snowflakePanel(work: Pick<Work, 'id'>, canWrite: boolean): HTMLElement {
  const base = `/works/${work.id}/snowflake`
  const message = messageLine('snowflake-message')
  const list = h('ol', { class: 'snowflake', 'data-testid': 'snowflake-steps' })

  const premise = h('textarea', {
    rows: 2,
    maxlength: 2000,
    placeholder: t('story.premisePlaceholder'),
    'data-testid': 'snowflake-premise',
  })
  const premiseForm = h(
    'form',
    {
      class: 'stack',
      onsubmit: submitWith(message, async () => {
        await put(`${base}/premise`, { premise: premise.value.trim() })
        message.info(t('story.premiseSaved'))
      }),
    },
    field(t('story.premise'), premise),
    h('button', { type: 'submit', 'data-testid': 'snowflake-premise-save' }, t('story.savePremise')),
  )

  const stepRow = (step: SnowflakeStep): HTMLElement => {
    const content = h('textarea', {
      rows: 4,
      maxlength: 50_000,
      readonly: !canWrite,
      placeholder: t('story.empty'),
      value: step.content ?? '',
      'data-testid': 'snowflake-content',
    })
    const stepMessage = messageLine('snowflake-step-message')
    const source = h('span', { class: 'step-source' })
    const busy = (action: () => Promise<StepSaved>, done: string) => () =>
      attempt(
        stepMessage,
        async () => {
          const saved = await action()
          if (typeof saved.content === 'string') content.value = saved.content
          replace(source, aiSource(saved.provider, saved.model))
          stepMessage.info(done)
        },
        { buttons },
      )
    const buttons = canWrite
      ? [
          h(
            'button',
            {
              class: 'small primary',
              'data-testid': 'snowflake-draft',
              onclick: busy(() => post<StepSaved>(`${base}/${step.step}`), t('status.completed')),
            },
            t('story.draft'),
          ),
          h(
            'button',
            {
              class: 'small',
              'data-testid': 'snowflake-save',
              onclick: busy(() => put<StepSaved>(`${base}/${step.step}`, { content: content.value }), t('story.stepSaved')),
            },
            t('common.save'),
          ),
        ]
      : []
    return h(
      'li',
      { class: 'snowflake-step', 'data-testid': 'snowflake-step', 'data-step': step.step },
      h('div', { class: 'step-head' }, h('strong', {}, `${t('story.step').replace('{n}', String(step.step))} · ${step.name}`), ...buttons),
      h('p', { class: 'muted' }, step.instruction),
      content,
      source,
      stepMessage,
    )
  }

  void attempt(message, async () => {
    const steps = await get<SnowflakeStep[]>(base)
    replace(list, [...steps].sort((a, b) => a.step - b.step).map(stepRow))
  })
  return h('div', { class: 'stack' }, canWrite ? premiseForm : null, message, list)
}
