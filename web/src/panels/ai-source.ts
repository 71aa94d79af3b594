// Who wrote an AI result: the offline provider's text is demo text from no model, and says so,
// with the server's one-line hint on connecting a model; it is never passed off as a model's.

import { h } from '../dom'
import { t } from '../i18n'

export function aiSource(
  provider: string | null | undefined,
  model: string | null | undefined,
  hint?: string | null,
): HTMLElement | null {
  if (!provider) return null
  if (provider === 'offline') return demoLabel(hint)
  return h(
    'span',
    { class: 'badge ai', 'data-testid': 'ai-source', 'data-provider': provider },
    `${t('story.by')} ${provider}${model ? ` · ${model}` : ''}`,
  )
}

/** "Demo text · no model"; the hint on connecting one is its tooltip. */
export function demoBadge(hint?: string | null): HTMLElement {
  return h(
    'span',
    { class: 'badge offline', 'data-testid': 'ai-demo', 'data-provider': 'offline', title: hint || t('ai.demoHint') },
    t('ai.demo'),
  )
}

/** The badge and, next to it, how to connect a model (the server's hint, or ours). */
export function demoLabel(hint?: string | null): HTMLElement {
  return h(
    'span',
    { class: 'demo-label', 'data-testid': 'ai-source', 'data-provider': 'offline', 'data-demo': true },
    demoBadge(hint),
    h('span', { class: 'hint', 'data-testid': 'ai-demo-hint' }, hint || t('ai.demoHint')),
  )
}
