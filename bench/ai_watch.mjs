// A stock y-websocket client that watches one chapter for the AI's text, for bench/ai_stream.py.
//
//   node ai_watch.mjs --url ws://127.0.0.1:PORT/sync --doc CONTENT_ID --token TOKEN
//
// It opens the document with y-websocket's WebsocketProvider (`?token=`), as an editor does, and
// observes `Y.Text "content"`: every inserted run whose attributes carry `ai` is counted for that
// task (first and last arrival, characters, updates). Times are `process.hrtime.bigint()`
// nanoseconds: CLOCK_MONOTONIC on Linux, the clock of Python's `time.monotonic_ns()`, so the
// driving script can compare them with its own readings.
//
// Output: one JSON line per event on stdout. Input: one JSON command per line on stdin:
//   {"cmd":"clock"}                              -> {"event":"clock","t_ns"}
//   {"cmd":"stats","task":ID}                    -> {"event":"stats","task","first_ns","last_ns",
//                                                    "chars","updates","awareness_updates",
//                                                    "joined_ns","left_ns"}
//   {"cmd":"typist_open"}                        -> {"event":"typist_ready"}: a second client
//   {"cmd":"type","updates":N,"text":"春风","interval_ms":0}
//                                                -> {"event":"typed","start_ns","sent_ns",
//                                                    "seen_ns","chars","watcher_updates"}: N
//                                                    updates, each its own
//                                                    transaction, appended at the end; seen_ns
//                                                    when this watcher has all of them
//   {"cmd":"typist_close"}                       -> {"event":"typist_closed"}
//   {"cmd":"quit"}                               -> exits
// Unprompted: {"event":"synced"}, {"event":"first","task","t_ns"} on a task's first character,
// {"event":"ai_joined"|"ai_left","task","t_ns"} from awareness, {"event":"error","message"}.
// Every wait is bounded; stdin closing or --timeout-s passing ends the process.
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    doc: { type: 'string' },
    token: { type: 'string' },
    'sync-timeout-s': { type: 'string', default: '20' },
    'timeout-s': { type: 'string', default: '900' }
  }
})
if (!opt.url || !opt.doc || !opt.token) {
  console.error('usage: node ai_watch.mjs --url ws://HOST:PORT/sync --doc CONTENT_ID --token T')
  process.exit(2)
}

const now = () => process.hrtime.bigint()
const emit = (event) => {
  process.stdout.write(JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) + '\n')
}
const fail = (message) => {
  emit({ event: 'error', message })
  shutdown(1)
}

const openClient = (doc) =>
  new WebsocketProvider(opt.url, opt.doc, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token: opt.token },
    disableBc: true // the typist shares this process: never let it talk past the server
  })

const waitFor = async (predicate, timeoutMs, what) => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

// The watcher ------------------------------------------------------------------------------

const doc = new Y.Doc()
const text = doc.getText('content')
const provider = openClient(doc)
const tasks = new Map() // task id -> {first_ns, last_ns, chars, updates, joined_ns, left_ns}
const aiClients = new Map() // awareness client id -> task id
let humanChars = 0 // characters inserted without the AI mark (the typist's, once synced)
let humanUpdates = 0 // updates that brought such characters
let synced = false

const taskEntry = (id) => {
  let entry = tasks.get(id)
  if (!entry) {
    entry = {
      first_ns: null,
      last_ns: null,
      chars: 0,
      updates: 0,
      awareness_updates: 0,
      joined_ns: null,
      left_ns: null
    }
    tasks.set(id, entry)
  }
  return entry
}

text.observe((event) => {
  if (!synced) return
  const t = now()
  const touched = new Set()
  for (const op of event.delta) {
    if (typeof op.insert !== 'string') continue
    const chars = [...op.insert].length // code points, as the server counts them
    const ai = op.attributes && op.attributes.ai
    if (!ai) {
      humanChars += chars
      touched.add(null)
      continue
    }
    const entry = taskEntry(ai)
    if (entry.first_ns === null) {
      entry.first_ns = t
      emit({ event: 'first', task: ai, t_ns: t })
    }
    entry.last_ns = t
    entry.chars += chars
    touched.add(ai)
  }
  for (const ai of touched) {
    if (ai === null) humanUpdates += 1
    else taskEntry(ai).updates += 1
  }
})

provider.awareness.on('change', ({ added, updated, removed }) => {
  const t = now()
  for (const id of [...added, ...updated]) {
    const user = provider.awareness.getStates().get(id)?.user
    if (user?.kind === 'ai' && user.task_id && !aiClients.has(id)) {
      aiClients.set(id, user.task_id)
      const entry = taskEntry(user.task_id)
      entry.joined_ns ??= t
      emit({ event: 'ai_joined', task: user.task_id, t_ns: t })
    }
  }
  for (const id of removed) {
    const task = aiClients.get(id)
    if (task === undefined) continue
    aiClients.delete(id)
    taskEntry(task).left_ns = t
    emit({ event: 'ai_left', task, t_ns: t })
  }
})

provider.awareness.on('update', ({ added, updated }) => {
  for (const id of [...added, ...updated]) {
    const task = aiClients.get(id)
    if (task !== undefined) taskEntry(task).awareness_updates += 1
  }
})

// The typist: a plain second client that types 2-character updates ---------------------------

let typist = null

const openTypist = async () => {
  if (typist) return
  const typistDoc = new Y.Doc()
  const typistProvider = openClient(typistDoc)
  typist = { doc: typistDoc, provider: typistProvider, synced: false }
  typistProvider.on('sync', (isSynced) => { if (isSynced) typist.synced = true })
  await waitFor(() => typist.synced, Number(opt['sync-timeout-s']) * 1000, 'the typist to sync')
}

const closeTypist = () => {
  if (!typist) return
  typist.provider.destroy()
  typist.doc.destroy()
  typist = null
}

const type = async ({ updates, text: piece = '春风', interval_ms: intervalMs = 0 }) => {
  if (!typist) throw new Error('typist_open first')
  const typed = typist.doc.getText('content')
  const expected = humanChars + updates * [...piece].length
  const updatesBefore = humanUpdates
  const start = now()
  for (let i = 0; i < updates; i++) {
    // `ai: null`: never inherit the AI's mark from the text before (Yjs carries a run's format
    // on to plain inserts right after it).
    typist.doc.transact(() => typed.insert(typed.length, piece, { ai: null }), 'typist')
    if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  const sent = now()
  await waitFor(() => humanChars >= expected, 120_000, 'the typed text to reach the watcher')
  return {
    start_ns: start,
    sent_ns: sent,
    seen_ns: now(),
    chars: updates * [...piece].length,
    watcher_updates: humanUpdates - updatesBefore
  }
}

// Commands ---------------------------------------------------------------------------------

const handle = async (command) => {
  switch (command.cmd) {
    case 'clock':
      return emit({ event: 'clock', t_ns: now() })
    case 'stats':
      return emit({ event: 'stats', task: command.task, ...taskEntry(command.task) })
    case 'typist_open':
      await openTypist()
      return emit({ event: 'typist_ready' })
    case 'type':
      return emit({ event: 'typed', ...(await type(command)) })
    case 'typist_close':
      closeTypist()
      return emit({ event: 'typist_closed' })
    case 'quit':
      return shutdown(0)
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}`)
  }
}

let closing = false
function shutdown (code) {
  if (closing) return
  closing = true
  closeTypist()
  provider.destroy()
  setTimeout(() => process.exit(code), 50)
}

setTimeout(() => fail(`--timeout-s ${opt['timeout-s']} passed`), Number(opt['timeout-s']) * 1000).unref()

let queue = Promise.resolve() // commands run one at a time, in order
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (!line.trim()) return
    queue = queue.then(() => handle(JSON.parse(line))).catch((error) => fail(String(error?.stack || error)))
  })
  .on('close', () => shutdown(0))

provider.on('connection-close', (event) => {
  if (!synced && event && event.code >= 4000) fail(`refused: ${event.code} ${event.reason}`)
})
try {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('no first sync within --sync-timeout-s')),
      Number(opt['sync-timeout-s']) * 1000
    )
    provider.on('sync', (isSynced) => {
      if (isSynced) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  synced = true
  emit({ event: 'synced', t_ns: now(), text_chars: [...text.toString()].length })
} catch (error) {
  fail(String(error))
}
