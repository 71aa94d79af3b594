// Who wrote an AI result: "offline" (no model answered) is said as such, never passed off as a model.

import { h } from '../dom'
import { t } from '../i18n'

export function aiSource(provider: string | null | undefined, model: string | null | undefined): HTMLElement | null {
  if (!provider) return null
  const offline = provider === 'offline'
  return h(
    'span',
    { class: offline ? 'badge offline' : 'badge ai', 'data-testid': 'ai-source', 'data-provider': provider },
    offline ? t('story.offline') : `${t('story.by')} ${provider}${model ? ` · ${model}` : ''}`,
  )
}
