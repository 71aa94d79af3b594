// The chapter's live document: a Y.Doc synced by the stock y-websocket provider with the user's
// token, a local IndexedDB copy, and the connection state the page shows.

import { IndexeddbPersistence } from 'y-indexeddb'
import * as authProtocol from 'y-protocols/auth'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { refreshSession } from '../api'
import { currentSession, onSessionChange, type Session } from '../session'

export type ConnectionState = 'connecting' | 'online' | 'reconnecting' | 'offline' | 'denied'

/** What the server writes to meta.restored in the same update as a version restore. */
export interface RestoreStamp {
  version_id: number
  version_name: string
  pre_restore_version_id: number
  at: string
  by: string
}

export interface Collab {
  doc: Y.Doc
  text: Y.Text
  provider: WebsocketProvider
  state(): ConnectionState
  onState(listener: (state: ConnectionState, detail?: string) => void): void
  /** The server made this socket read-only (permission-denied message). */
  onPermissionDenied(listener: (reason: string) => void): void
  /** Forget this browser's copy of the document (edits the server refused live only there). */
  discardLocalCopy(): Promise<void>
  /** The server refuses this document to this user (close 4403: removed from the work, the work
   *  trashed); this browser's copy is already forgotten when the listener runs. */
  onAccessLost(listener: (reason: string) => void): void
  /** A version restore arrived; `live` is false when it is only met while loading or syncing. */
  onRestored(listener: (stamp: RestoreStamp, live: boolean) => void): void
  destroy(): void
}

const PALETTE = ['#d1495b', '#00798c', '#edae49', '#30638e', '#6a4c93', '#2a9d8f', '#e76f51', '#588157']

export function userColor(userId: number): { color: string; colorLight: string } {
  const color = PALETTE[Math.abs(userId) % PALETTE.length]
  return { color, colorLight: `${color}33` }
}

export function syncBase(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`
}

export function connect(contentId: string, session: Session): Collab {
  const doc = new Y.Doc()
  const text = doc.getText('content')
  const local = new IndexeddbPersistence(`inkweave:${session.user_id}:${contentId}`, doc)
  const provider = new WebsocketProvider(syncBase(), encodeURIComponent(contentId), doc, {
    params: { token: session.token },
    connect: navigator.onLine,
    maxBackoffTime: 5000,
  })
  provider.awareness.setLocalStateField('user', {
    name: session.username,
    ...userColor(session.user_id),
    kind: 'human',
    id: session.user_id,
  })

  const stateListeners: ((state: ConnectionState, detail?: string) => void)[] = []
  const deniedListeners: ((reason: string) => void)[] = []
  const lostListeners: ((reason: string) => void)[] = []
  let state: ConnectionState = navigator.onLine ? 'connecting' : 'offline'
  let everConnected = false
  const setState = (next: ConnectionState, detail?: string) => {
    state = next
    for (const listener of stateListeners) listener(next, detail)
  }

  provider.on('status', ({ status }) => {
    if (status === 'connected') {
      everConnected = true
      setState('online')
    } else if (!navigator.onLine || !provider.shouldConnect) {
      if (state !== 'denied') setState('offline')
    } else {
      setState(everConnected ? 'reconnecting' : 'connecting')
    }
  })
  provider.on('closed', async ({ code, reason }) => {
    // 4401: the token expired or was revoked; a fresh one may open the socket again.
    if (code === 4401 && (await refreshSession())) {
      provider.params.token = currentSession()?.token ?? ''
      provider.connect()
      return
    }
    if (code === 4403) {
      // Nothing this browser holds for the document can be stored any more: forget it, so that
      // refused edits neither stay on this screen nor come back if access is given again.
      await local.clearData()
      setState('denied', reason || String(code))
      for (const listener of lostListeners) listener(reason)
      return
    }
    setState('denied', reason || String(code))
  })
  // The restore's edits and this key come in one transaction, so a listener that clears the undo
  // history does so before any keystroke can undo across the restore.
  const restoredListeners: ((stamp: RestoreStamp, live: boolean) => void)[] = []
  const meta = doc.getMap('meta')
  meta.observe((event) => {
    const stamp = meta.get('restored') as RestoreStamp | undefined
    if (!stamp || !event.keysChanged.has('restored')) return
    for (const listener of restoredListeners) listener(stamp, provider.synced)
  })
  provider.messageHandlers[2] = (_encoder, decoder) => {
    authProtocol.readAuthMessage(decoder, doc, (_doc: unknown, reason: string) => {
      for (const listener of deniedListeners) listener(reason)
    })
  }

  const goOffline = () => {
    provider.disconnect()
    setState('offline')
  }
  const goOnline = () => {
    if (state === 'denied') return
    setState('reconnecting')
    provider.connect()
  }
  window.addEventListener('offline', goOffline)
  window.addEventListener('online', goOnline)
  const stopWatchingSession = onSessionChange((next) => {
    if (next) provider.params.token = next.token
  })

  return {
    doc,
    text,
    provider,
    state: () => state,
    onState: (listener) => {
      stateListeners.push(listener)
      listener(state)
    },
    onPermissionDenied: (listener) => deniedListeners.push(listener),
    discardLocalCopy: () => local.clearData(),
    onAccessLost: (listener) => lostListeners.push(listener),
    onRestored: (listener) => restoredListeners.push(listener),
    destroy() {
      window.removeEventListener('offline', goOffline)
      window.removeEventListener('online', goOnline)
      stopWatchingSession()
      provider.awareness.setLocalState(null)
      provider.destroy()
      void local.destroy()
      doc.destroy()
    },
  }
}
