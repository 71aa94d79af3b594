// The Snowflake method (雪花写作法): a premise, then ten steps the AI drafts and the writer edits.

import { get, post, put } from '../api'
import { h, replace } from '../dom'
import { attempt, field, submitWith } from '../forms'
import { language, t } from '../i18n'
import { messageLine } from '../shell'
import type { SnowflakeStep, Work } from '../types'
import { aiSource } from './ai-source'

/** The server's (Chinese) name or instruction of a step, translated when the interface is not. */
function stepText(key: string, chinese: string): string {
  const text = t(key)
  return language() === 'zh' || text === key ? chinese : text
}

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
    readonly: !canWrite,
    placeholder: canWrite ? t('story.premisePlaceholder') : t('story.empty'),
    'data-testid': 'snowflake-premise',
  })
  const premiseSave = canWrite
    ? h('button', { type: 'submit', 'data-testid': 'snowflake-premise-save' }, t('story.savePremise'))
    : null
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
    premiseSave,
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
              onclick: () => {
                // A draft replaces the step as saved: the writer's words go only if they say so.
                if (content.value.trim() && !confirm(t('story.confirmRedraft'))) return
                void busy(() => post<StepSaved>(`${base}/${step.step}`), t('status.completed'))()
              },
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
      h(
        'div',
        { class: 'step-head' },
        h(
          'strong',
          { 'data-testid': 'snowflake-step-name' },
          `${t('story.step').replace('{n}', String(step.step))} · ${stepText(`story.stepName.${step.step}`, step.name)}`,
        ),
        ...buttons,
      ),
      h('p', { class: 'muted' }, stepText(`story.stepHint.${step.step}`, step.instruction)),
      content,
      source,
      stepMessage,
    )
  }

  // Everything saved comes back on load: the premise too, not only the steps.
  void attempt(message, async () => {
    const [saved, steps] = await Promise.all([get<{ premise: string | null }>(`${base}/premise`), get<SnowflakeStep[]>(base)])
    if (!premise.value) premise.value = saved.premise ?? ''
    replace(list, [...steps].sort((a, b) => a.step - b.step).map(stepRow))
  })
  return h('div', { class: 'stack' }, premiseForm, message, list)
}
