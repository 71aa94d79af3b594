// A real Yjs + y-websocket client, driven by the Python tests over stdin/stdout.
//
// Protocol: one JSON command per line on stdin, one JSON reply per line on stdout.
//   command: {"id": 1, "cmd": "connect", "url": "ws://127.0.0.1:PORT/sync", "room": "...", ...}
//   reply:   {"id": 1, "ok": true, ...}   or   {"id": 1, "error": "message"}
// stdout carries replies only; everything else goes to stderr.
//
// One driver process holds at most one provider: separate processes never share a Yjs
// BroadcastChannel, so every byte between two drivers goes through the server under test.

import * as readline from 'node:readline'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const DEFAULT_CONNECT_TIMEOUT_MS = 10000

/** @type {{ydoc: Y.Doc, provider: WebsocketProvider, closes: Array<{code: number|null, reason: string}>} | null} */
let session = null

const log = (...args) => console.error('[client.mjs]', ...args)

// stdout is for replies only: whatever a library prints goes to stderr
console.log = console.info = console.debug = console.error

const reply = (message) => {
  process.stdout.write(JSON.stringify(message) + '\n')
}

const requireSession = () => {
  if (session === null) throw new Error('not connected: send "connect" first')
  return session
}

const text = () => requireSession().ydoc.getText('content')

const status = () => {
  if (session === null) return { connected: false, synced: false, closes: [] }
  const { ydoc, provider, closes } = session
  return {
    connected: provider.wsconnected,
    synced: provider.synced,
    clientID: ydoc.clientID,
    url: provider.url,
    closes
  }
}

const otherStates = () => {
  const { ydoc, provider } = requireSession()
  return Array.from(provider.awareness.getStates().entries())
    .filter(([clientID]) => clientID !== ydoc.clientID)
}

// `encodeRoom` passes `encodeURIComponent(room)` to the provider, as an app has to for a room name
// that holds `%`, `?`, `#` (y-websocket itself puts the room name into the URL as it is).
const connect = async ({ url, room, token, name, color, timeoutMs, encodeRoom }) => {
  if (session !== null) throw new Error('already connected: one provider per driver process')
  if (typeof url !== 'string' || typeof room !== 'string') {
    throw new Error('connect needs string "url" and "room"')
  }
  const ydoc = new Y.Doc()
  const provider = new WebsocketProvider(url, encodeRoom ? encodeURIComponent(room) : room, ydoc, {
    params: token ? { token } : {},
    WebSocketPolyfill: WebSocket,
    disableBc: true
  })
  const closes = []
  session = { ydoc, provider, closes }
  provider.on('connection-close', (event) => {
    closes.push({ code: event ? event.code : null, reason: event ? String(event.reason) : '' })
  })
  provider.on('connection-error', (event) => {
    log('connection error:', event && event.message ? event.message : String(event))
  })
  provider.awareness.setLocalState({ user: { name: name ?? 'node', color: color ?? '#888888' } })
  await new Promise((resolve, reject) => {
    if (provider.synced) {
      resolve()
      return
    }
    const timer = setTimeout(() => {
      provider.off('sync', onSync)
      reject(new Error(
        `not synced within ${timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS} ms ` +
        `(url ${provider.url}, closes ${JSON.stringify(closes)})`
      ))
    }, timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS)
    const onSync = (synced) => {
      if (synced) {
        clearTimeout(timer)
        provider.off('sync', onSync)
        resolve()
      }
    }
    provider.on('sync', onSync)
  })
  return { clientID: ydoc.clientID, url: provider.url }
}

// Resolves once the socket has flushed what was sent and closed (or after `timeoutMs`).
const closed = (ws, timeoutMs = 1000) => new Promise((resolve) => {
  if (ws === null || ws.readyState === WebSocket.CLOSED) {
    resolve()
    return
  }
  const timer = setTimeout(resolve, timeoutMs)
  ws.once('close', () => {
    clearTimeout(timer)
    resolve()
  })
})

const close = async () => {
  if (session === null) return { closed: false }
  const { ydoc, provider } = session
  session = null
  const ws = provider.ws
  provider.destroy() // sends the "I left" awareness entry, then closes the socket
  ydoc.destroy()
  await closed(ws)
  return { closed: true }
}

const handlers = {
  connect,
  // Where to insert: `index` (JavaScript string units), or right `after` / `before` the first
  // occurrence of a string, found and used in one step so that no remote update comes between.
  insert: ({ index, after, before, text: value }) => {
    const ytext = text()
    if (typeof value !== 'string') throw new Error('insert needs a string "text"')
    let at = index
    if (typeof after === 'string' || typeof before === 'string') {
      const current = ytext.toString()
      const anchor = typeof after === 'string' ? after : before
      const found = current.indexOf(anchor)
      if (found < 0) throw new Error(`anchor ${JSON.stringify(anchor)} is not in the text`)
      at = typeof after === 'string' ? found + anchor.length : found
    }
    if (!Number.isInteger(at) || at < 0 || at > ytext.length) {
      throw new Error(`index ${at} is outside 0..${ytext.length}`)
    }
    ytext.insert(at, value)
    return { index: at, length: ytext.length }
  },
  append: ({ text: value }) => {
    if (typeof value !== 'string') throw new Error('append needs a string "text"')
    const ytext = text()
    ytext.insert(ytext.length, value)
    return { length: ytext.length }
  },
  text: () => ({ text: text().toString() }),
  // What a stock editor renders: runs of text with their attributes (Y.Text.toDelta()).
  delta: () => ({ delta: text().toDelta() }),
  awareness: () => ({ clientID: requireSession().ydoc.clientID, states: otherStates() }),
  setAwareness: ({ field, value }) => {
    if (typeof field !== 'string') throw new Error('setAwareness needs a string "field"')
    requireSession().provider.awareness.setLocalStateField(field, value)
    return {}
  },
  // Types `text` one character (code point) at a time, every `intervalMs`, each one right
  // `after` / `before` the first occurrence of an anchor string, located afresh each time.
  type: async ({ after, before, text: value, intervalMs }) => {
    if (typeof value !== 'string') throw new Error('type needs a string "text"')
    let typed = 0
    for (const char of value) {
      handlers.insert({ after, before, text: char })
      typed += 1
      await new Promise((resolve) => setTimeout(resolve, intervalMs ?? 10))
    }
    return { typed, length: text().length }
  },
  // The other clients' awareness cursors resolved in this document, as y-codemirror.next does:
  // JavaScript string indices (null when a position does not resolve into "content").
  cursors: () => {
    const { ydoc } = requireSession()
    const ytext = text()
    const resolve = (json) => {
      if (json === undefined || json === null) return null
      const relative = Y.createRelativePositionFromJSON(json)
      const absolute = Y.createAbsolutePositionFromRelativePosition(relative, ydoc)
      return absolute !== null && absolute.type === ytext ? absolute.index : null
    }
    const cursors = otherStates().map(([clientID, state]) => ({
      clientID,
      user: state.user ?? null,
      anchor: resolve(state.cursor?.anchor),
      head: resolve(state.cursor?.head)
    }))
    return { cursors, text: ytext.toString() }
  },
  // Starts noting which of `strings` the text holds after every change from now on (each
  // applied update and local edit), so a test can tell that a client never saw a string, not
  // only that it is gone at the end. `watched` answers with those seen, the changes counted and
  // every character that was ever shown as AI text.
  watch: ({ strings }) => {
    if (!Array.isArray(strings)) throw new Error('watch needs an array "strings"')
    const ytext = text()
    const watching = { seen: new Set(), changes: 0, aiMarked: new Set() }
    const look = () => {
      const current = ytext.toString()
      for (const value of strings) {
        if (current.includes(value)) watching.seen.add(value)
      }
      // Every character that was ever rendered as AI text (`{ai: ...}` in toDelta()).
      for (const op of ytext.toDelta()) {
        if (op.attributes && op.attributes.ai && typeof op.insert === 'string') {
          for (const char of op.insert) watching.aiMarked.add(char)
        }
      }
    }
    look()
    ytext.observe(() => {
      watching.changes += 1
      look()
    })
    requireSession().watching = watching
    return {}
  },
  watched: () => {
    const { watching } = requireSession()
    if (watching === undefined) throw new Error('send "watch" first')
    return { seen: Array.from(watching.seen), changes: watching.changes, aiMarked: Array.from(watching.aiMarked) }
  },
  status,
  close,
  exit: async () => {
    await close()
    setImmediate(() => process.exit(0))
    return {}
  }
}

const handle = async (line) => {
  let id = null
  try {
    const command = JSON.parse(line)
    id = command.id ?? null
    const handler = Object.hasOwn(handlers, command.cmd) ? handlers[command.cmd] : undefined
    if (handler === undefined) throw new Error(`unknown command ${JSON.stringify(command.cmd)}`)
    const result = await handler(command)
    reply({ id, ok: true, ...result })
  } catch (error) {
    reply({ id, error: error instanceof Error ? error.message : String(error) })
  }
}

process.on('uncaughtException', (error) => log('uncaught exception:', error))
process.on('unhandledRejection', (error) => log('unhandled rejection:', error))

const lines = readline.createInterface({ input: process.stdin, terminal: false })
lines.on('line', (line) => {
  if (line.trim() !== '') handle(line)
})
lines.on('close', () => {
  // the test process went away
  close().finally(() => process.exit(0))
})
log('ready')
