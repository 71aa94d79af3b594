// Load scenarios driven by real Yjs clients (y-websocket's WebsocketProvider, or Hocuspocus's
// HocuspocusProvider), all in this one Node process so that every latency is measured on one clock
// (performance.now()).
//
//   node load.mjs <scenario> --kind ywebsocket|hocuspocus --url URL [options]
//
// Scenarios: s2, s3, s3heavy, joinwave, burst, s4, appends, memory, awareness, connrate (see
// README.md). The result is printed on
// stdout as one JSON line; progress goes to stderr. Every wait is bounded; the process exits with
// a JSON error line and a non-zero status when a bound is hit.
import { parseArgs } from 'node:util'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    kind: { type: 'string', default: 'ywebsocket' },
    url: { type: 'string' }, // ywebsocket: ws://H:P/sync ; hocuspocus: ws://H:P
    prefix: { type: 'string', default: `b${Date.now().toString(36)}` },
    seed: { type: 'string', default: '1' },
    // s2, burst
    clients: { type: 'string' },
    writers: { type: 'string' }, // s2: 5; burst: 10
    updates: { type: 'string', default: '100' },
    'interval-ms': { type: 'string', default: '20' },
    // s3, s3heavy, joinwave
    docs: { type: 'string' },
    'per-client-updates': { type: 'string' }, // s3, joinwave: 5; s3heavy: 20
    'per-client-interval-ms': { type: 'string' }, // s3, joinwave: 100; s3heavy: 50
    // s4
    phase: { type: 'string', default: 'all' }, // all | cold
    doc: { type: 'string' },
    'build-updates': { type: 'string', default: '2000' },
    'chars-per-update': { type: 'string', default: '100' },
    joins: { type: 'string', default: '1' },
    'cold-joins': { type: 'string', default: '0' },
    joiners: { type: 'string', default: '20' },
    // appends
    'duration-s': { type: 'string' },
    window: { type: 'string', default: '8' },
    'metrics-url': { type: 'string' },
    // memory
    pid: { type: 'string' }, // server process: CPU time is reported; memory: RSS is read
    'gc-url': { type: 'string' }, // reference servers: full GC before RSS is read
    chars: { type: 'string', default: '2000' },
    'settle-s': { type: 'string', default: '3' },
    // awareness
    'idle-s': { type: 'string' },
    // connrate
    token: { type: 'string' }, // sent as y-websocket's ?token= / Hocuspocus's token
    'doc-list': { type: 'string' }, // comma-separated documents to join (default: --docs fresh ones)
    'start-rate': { type: 'string', default: '10' },
    'max-rate': { type: 'string', default: '3200' },
    'step-s': { type: 'string', default: '2' },
    'hold-ms': { type: 'string', default: '1000' },
    'threshold-ms': { type: 'string', default: '100' },
    refine: { type: 'string', default: '2' },
    // overall bound
    'timeout-s': { type: 'string', default: '240' },
    'no-deflate': { type: 'boolean', default: false },
    'dump-dir': { type: 'string' } // S4: where to write the frames of a joiner that never synced
  }
})

const scenario = positionals[0]
process.setMaxListeners(0) // y-websocket adds one 'exit' listener per provider
const KIND = opt.kind
if (!['ywebsocket', 'hocuspocus'].includes(KIND)) fail(`unknown --kind ${KIND}`)
if (!opt.url) fail('--url is required')

const hardStop = setTimeout(() => fail(`scenario ${scenario} exceeded ${opt['timeout-s']} s`),
  Number(opt['timeout-s']) * 1000)
hardStop.unref()

// ---------------------------------------------------------------------------------------------
// small helpers

function fail (message) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n')
  process.exit(2)
}
const log = (...args) => process.stderr.write(`[load ${scenario}] ${args.join(' ')}\n`)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const now = () => performance.now()

function mulberry32 (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const rand = mulberry32(Number(opt.seed))

function chinese (n) {
  let s = ''
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x4e00 + Math.floor(rand() * 0x5000))
  return s
}

function percentile (sorted, p) {
  if (sorted.length === 0) return null
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[idx]
}
function summary (samples) {
  const sorted = Float64Array.from(samples).sort()
  const round = (x) => (x === null ? null : Math.round(x * 100) / 100)
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : null),
    mean: round(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null)
  }
}

async function waitFor (predicate, timeoutMs, what, pollMs = 10) {
  const deadline = now() + timeoutMs
  while (!predicate()) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(pollMs)
  }
}

/** `promise`, or a rejection after `ms` milliseconds. */
function withTimeout (promise, ms, what) {
  let timer
  const bound = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer))
}

/** Server CPU seconds from now until the returned function is called (null without --pid). */
function serverCpuWindow () {
  const pid = Number(opt.pid)
  const before = pid ? cpuSeconds(pid) : null
  return () => {
    const after = pid ? cpuSeconds(pid) : null
    return before === null || after === null ? null : Math.round((after - before) * 100) / 100
  }
}

/** CPU seconds used so far by process `pid` (utime + stime; Linux clock ticks are 1/100 s). */
function cpuSeconds (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return null
  }
}

/** Busy CPU seconds of the whole machine so far (all cores; /proc/stat, 1/100 s ticks). */
function machineBusySeconds () {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100
  } catch {
    return null
  }
}

function rssKiB (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  return m ? Number(m[1]) : null
}

// ---------------------------------------------------------------------------------------------
// one client: a Y.Doc + a provider over its own WebSocket, counting the frames it receives

let disconnects = 0
// --url may list several servers (comma-separated): clients are spread over them in turn,
// which is how the two-node mode puts the peers of one document on different nodes.
const URLS = opt.url.split(',')
let clientCount = 0
const extensions = new Set() // WebSocket extensions the server negotiated (permessage-deflate?)
// --no-deflate: clients do not offer permessage-deflate (ws offers it by default, as browsers do)
const CLIENT_WS_OPTIONS = opt['no-deflate'] ? { perMessageDeflate: false } : {}

/** Message type of a received frame (y-websocket: first varUint; Hocuspocus: after the name). */
function frameType (data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  const dec = decoding.createDecoder(bytes)
  if (KIND === 'hocuspocus') decoding.readVarString(dec)
  return decoding.readVarUint(dec)
}

class Client {
  constructor (room, { awarenessState = null, record = false, token = null } = {}) {
    this.room = room
    this.doc = new Y.Doc()
    this.text = this.doc.getText('content')
    this.map = this.doc.getMap('bench')
    this.frames = { total: 0, awareness: 0, sync: 0, other: 0 }
    this.recorded = record ? [] : null
    this.errors = []
    this.synced = false
    this.syncedAt = null
    this.whenSynced = new Promise((resolve) => { this._resolveSynced = resolve })
    this.startedAt = now()
    const client = this
    class CountingWebSocket extends WebSocket {
      constructor (url, protocols) {
        super(url, protocols, CLIENT_WS_OPTIONS)
        this.on('message', (data) => client._onFrame(data))
        this.on('close', () => { if (!client.destroyed) disconnects++ })
        this.on('open', () => { extensions.add(this.extensions || 'none') })
      }
    }
    if (KIND === 'ywebsocket') {
      this.provider = new WebsocketProvider(URLS[clientCount++ % URLS.length], room, this.doc, {
        WebSocketPolyfill: CountingWebSocket,
        disableBc: true, // clients share this process: never let them talk past the server
        params: token ? { token } : {}
      })
      this.awareness = this.provider.awareness
      this.provider.on('sync', (isSynced) => { if (isSynced) this._onSynced() })
    } else {
      this.provider = new HocuspocusProvider({
        url: opt.url,
        name: room,
        document: this.doc,
        token,
        WebSocketPolyfill: CountingWebSocket,
        onSynced: () => this._onSynced()
      })
      this.awareness = this.provider.awareness
    }
    if (awarenessState) this.awareness.setLocalState(awarenessState)
  }

  _onSynced () {
    if (this.synced) return
    this.synced = true
    this.syncedAt = now()
    this._resolveSynced()
  }

  _onFrame (data) {
    this.frames.total++
    if (this.recorded) this.recorded.push(Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data))
    let type
    try { type = frameType(data) } catch { type = -1 }
    if (type === 1) this.frames.awareness++
    else if (type === 0) this.frames.sync++
    else this.frames.other++
  }

  resetFrames () { this.frames = { total: 0, awareness: 0, sync: 0, other: 0 } }

  destroy () {
    this.destroyed = true
    try { this.provider.destroy() } catch {}
  }
}

async function connectAll (rooms, { batch = 50, timeoutMs = 60000, awareness = null } = {}) {
  const clients = []
  for (let i = 0; i < rooms.length; i += batch) {
    const group = rooms.slice(i, i + batch).map((room, j) =>
      new Client(room, { awarenessState: awareness ? awareness(i + j) : null }))
    clients.push(...group)
    await waitFor(() => group.every((c) => c.synced), timeoutMs, `${group.length} clients to sync`)
  }
  return clients
}

function destroyAll (clients) { for (const c of clients) c.destroy() }

/** Observe latency entries `key -> send time` written into the shared map by other clients. */
function observeLatency (client, samples, onSample) {
  client.map.observe((event, tr) => {
    if (tr.local) return
    const t = now()
    for (const key of event.keysChanged) {
      const sent = client.map.get(key)
      if (typeof sent === 'number') {
        samples.push(t - sent)
        if (onSample) onSample(key, t)
      }
    }
  })
}

function write (client, key, textChunk) {
  client.doc.transact(() => {
    client.text.insert(client.text.length, textChunk)
    client.map.set(key, now())
  })
}

// ---------------------------------------------------------------------------------------------
// scenarios

async function s2 () {
  const nClients = Number(opt.clients ?? 50)
  const nWriters = Number(opt.writers ?? 5)
  const nUpdates = Number(opt.updates)
  const interval = Number(opt['interval-ms'])
  const room = `${opt.prefix}-s2`
  const clients = await connectAll(Array(nClients).fill(room), { batch: 25 })
  await sleep(500)
  const samples = []
  for (const c of clients) observeLatency(c, samples)
  const step = Math.floor(nClients / nWriters)
  const writers = Array.from({ length: nWriters }, (_, w) => clients[w * step])
  const loadCpu = serverCpuWindow()
  const started = now()
  await Promise.all(writers.map(async (writer, w) => {
    await sleep(w * 3) // staggered, like independent typists
    const t0 = now()
    for (let i = 0; i < nUpdates; i++) {
      write(writer, `w${w}:${i}`, `[${w}.${i}] `)
      const next = t0 + (i + 1) * interval
      await sleep(Math.max(0, next - now()))
    }
  }))
  const expected = nWriters * nUpdates * (nClients - 1)
  await waitFor(() => samples.length >= expected, 20000, 'fan-out to complete').catch((e) => log(e.message))
  const elapsed = now() - started
  const loadServerCpu = loadCpu()
  // Which clients lack which writers' entries (empty when all arrived): for diagnosing gaps.
  const missing = []
  if (samples.length < expected) {
    clients.forEach((c, index) => {
      const lacking = []
      writers.forEach((writer, w) => {
        if (writer === c) return
        for (let i = 0; i < nUpdates; i++) if (!c.map.has(`w${w}:${i}`)) lacking.push(`w${w}:${i}`)
      })
      if (lacking.length) missing.push({ client: index, count: lacking.length, first: lacking.slice(0, 5), last: lacking.slice(-3) })
    })
  }
  destroyAll(clients)
  return { latency_ms: summary(samples), expected, received: samples.length, elapsed_ms: Math.round(elapsed), missing, load_server_cpu_s: loadServerCpu }
}

// Many 2-client documents: `writersPerDoc` of the two clients write, each `updates` updates
// `interval` ms apart from a random (seeded) start within the first `spreadMs`.
async function pairs ({ docs, updates, interval, writersPerDoc, spreadMs }) {
  const rooms = []
  for (let d = 0; d < docs; d++) rooms.push(`${opt.prefix}-s3-${d}`, `${opt.prefix}-s3-${d}`)
  const clients = await connectAll(rooms, { batch: 50 })
  await sleep(500)
  const samples = []
  for (const c of clients) observeLatency(c, samples)
  const writing = clients.filter((_, k) => k % 2 < writersPerDoc)
  const offsets = writing.map(() => Math.floor(rand() * spreadMs))
  const loadCpu = serverCpuWindow()
  const started = now()
  await Promise.all(writing.map(async (c, k) => {
    await sleep(offsets[k])
    const t0 = now()
    for (let i = 0; i < updates; i++) {
      write(c, `c${k}:${i}`, `(${k}.${i})`)
      await sleep(Math.max(0, t0 + (i + 1) * interval - now()))
    }
  }))
  const expected = writing.length * updates
  await waitFor(() => samples.length >= expected, 20000, 'fan-out to complete').catch((e) => log(e.message))
  const elapsed = now() - started
  const loadServerCpu = loadCpu()
  destroyAll(clients)
  return { latency_ms: summary(samples), expected, received: samples.length, elapsed_ms: Math.round(elapsed), load_server_cpu_s: loadServerCpu }
}

async function s3 () {
  return pairs({
    docs: Number(opt.docs ?? 200),
    updates: Number(opt['per-client-updates'] ?? 5),
    interval: Number(opt['per-client-interval-ms'] ?? 100),
    writersPerDoc: 2,
    spreadMs: 1000
  })
}

// Heavy S3: one writer per document, 20 updates 50 ms apart, all starting within one interval:
// 200 writers make ~4,000 updates/s for a second.
async function s3heavy () {
  const interval = Number(opt['per-client-interval-ms'] ?? 50)
  return pairs({
    docs: Number(opt.docs ?? 200),
    updates: Number(opt['per-client-updates'] ?? 20),
    interval,
    writersPerDoc: 1,
    spreadMs: interval
  })
}

// A wave of new connections: 2 clients for each of --docs new documents, all created at once;
// once both clients of a document are synced, its writer sends 5 updates 100 ms apart. Join =
// client created -> synced; fan-out = writer's transaction -> the other client's observer.
async function joinwave () {
  const nDocs = Number(opt.docs ?? 200)
  const nUpdates = Number(opt['per-client-updates'] ?? 5)
  const interval = Number(opt['per-client-interval-ms'] ?? 100)
  const loadCpu = serverCpuWindow()
  const started = now()
  const docs = []
  for (let d = 0; d < nDocs; d++) {
    const room = `${opt.prefix}-jw-${d}`
    docs.push({ writer: new Client(room), reader: new Client(room) })
  }
  const samples = []
  for (const { reader } of docs) observeLatency(reader, samples)
  const clients = docs.flatMap(({ writer, reader }) => [writer, reader])
  await withTimeout(Promise.all(docs.map(async ({ writer, reader }, d) => {
    await Promise.all([writer.whenSynced, reader.whenSynced])
    const t0 = now()
    for (let i = 0; i < nUpdates; i++) {
      write(writer, `w:${i}`, `(${d}.${i})`)
      await sleep(Math.max(0, t0 + (i + 1) * interval - now()))
    }
  })), 60000, 'the wave to sync and write').catch((e) => log(e.message))
  const expected = nDocs * nUpdates
  await waitFor(() => samples.length >= expected, 20000, 'fan-out to complete').catch((e) => log(e.message))
  const elapsed = now() - started
  const loadServerCpu = loadCpu()
  const joins = clients.filter((c) => c.synced).map((c) => c.syncedAt - c.startedAt)
  const lastSynced = Math.max(...clients.filter((c) => c.synced).map((c) => c.syncedAt))
  destroyAll(clients)
  return {
    latency_ms: summary(samples),
    join_ms: summary(joins),
    unsynced: clients.length - joins.length,
    wave_synced_ms: Math.round(lastSynced - started),
    expected,
    received: samples.length,
    elapsed_ms: Math.round(elapsed),
    load_server_cpu_s: loadServerCpu
  }
}

// Burst: one document, --writers writers; each sends --updates updates back to back (one
// transaction each, the writers interleaved, all in one tick). Latency to each other writer.
async function burst () {
  const n = Number(opt.writers ?? 10)
  const nUpdates = Number(opt.updates)
  const room = `${opt.prefix}-burst`
  const clients = await connectAll(Array(n).fill(room), { batch: n })
  await sleep(500)
  const samples = []
  let lastAt = 0
  for (const c of clients) observeLatency(c, samples, (_key, t) => { lastAt = t })
  const loadCpu = serverCpuWindow()
  const started = now()
  for (let i = 0; i < nUpdates; i++) {
    clients.forEach((c, w) => write(c, `b${w}:${i}`, `[${w}.${i}]`))
  }
  const sentMs = now() - started
  const expected = n * nUpdates * (n - 1)
  await waitFor(() => samples.length >= expected, 30000, 'the burst to arrive').catch((e) => log(e.message))
  const loadServerCpu = loadCpu()
  destroyAll(clients)
  return {
    latency_ms: summary(samples),
    expected,
    received: samples.length,
    sent_ms: Math.round(sentMs),
    drain_ms: Math.round(lastAt - started),
    load_server_cpu_s: loadServerCpu
  }
}

async function s4Build (room) {
  const nUpdates = Number(opt['build-updates'])
  const perUpdate = Number(opt['chars-per-update'])
  const [writer, checker] = await connectAll([room, room])
  const started = now()
  const chunk = 100
  for (let i = 0; i < nUpdates; i += chunk) {
    for (let j = i; j < Math.min(nUpdates, i + chunk); j++) {
      writer.text.insert(writer.text.length, chinese(perUpdate))
    }
    const target = Math.min(nUpdates, i + chunk) * perUpdate
    await waitFor(() => checker.text.length >= target, 60000, 'the build to reach the checker')
  }
  const buildMs = now() - started
  writer.destroy()
  return { checker, buildMs, length: nUpdates * perUpdate }
}

async function s4Join (room, expectedLength) {
  const n = Number(opt.joiners)
  const joinMs = []
  const joiners = []
  for (let i = 0; i < n; i++) {
    const c = new Client(room, { record: Boolean(opt['dump-dir']) })
    joiners.push(c)
    c.text.observe(() => {
      if (c.doneAt === undefined && c.text.length >= expectedLength && c.synced) c.doneAt = now()
    })
  }
  try {
    await waitFor(() => joiners.every((c) => {
      if (c.doneAt === undefined && c.synced && c.text.length >= expectedLength) c.doneAt = now()
      return c.doneAt !== undefined
    }), 60000, 'joiners to receive the whole document', 2)
  } catch (err) {
    const stuck = joiners.filter((c) => c.doneAt === undefined)
    const detail = stuck.map((c) => `synced=${c.synced} length=${c.text.length}`).join('; ')
    if (opt['dump-dir']) {
      mkdirSync(opt['dump-dir'], { recursive: true })
      stuck.forEach((c, k) => {
        const file = `${opt['dump-dir']}/s4-stuck-${process.pid}-${k}.json`
        writeFileSync(file, JSON.stringify({
          room,
          synced: c.synced,
          length: c.text.length,
          frames: c.recorded.map((b) => b.toString('base64'))
        }))
      })
      log(`frames of ${stuck.length} stuck joiners written to ${opt['dump-dir']}`)
    }
    throw new Error(`${err.message}: ${stuck.length} of ${n} joiners stuck (${detail})`)
  }
  for (const c of joiners) joinMs.push(c.doneAt - c.startedAt)
  for (const c of joiners) c.recorded = null
  destroyAll(joiners)
  await sleep(300)
  return joinMs
}

async function openRooms () {
  const m = await readMetrics()
  return m ? (m.inkweave_open_rooms ?? 0) : 0
}

// S4. phase 'all': build the document through the server, keep one holder connected, run
// --joins warm joins (document in memory), let the holder go, then run --cold-joins joins each
// after the server has unloaded the room (Inkweave with INKWEAVE_ROOM_UNLOAD_GRACE_S=0; checked
// on /metrics). phase 'cold': only the cold joins, on an existing --doc (after a server restart).
async function s4 () {
  const room = opt.doc ?? `${opt.prefix}-s4`
  const expected = Number(opt['build-updates']) * Number(opt['chars-per-update'])
  const result = { doc: room, warm: [], cold: [] }
  if (opt.phase === 'all') {
    const built = await s4Build(room)
    result.build_ms = Math.round(built.buildMs)
    result.length = built.length
    for (let r = 0; r < Number(opt.joins); r++) result.warm.push(summary(await s4Join(room, expected)))
    built.checker.destroy()
    await sleep(300)
  } else if (opt.phase !== 'cold') {
    fail(`unknown --phase ${opt.phase}`)
  }
  for (let r = 0; r < Number(opt['cold-joins']); r++) {
    if (opt['metrics-url']) {
      const deadline = now() + 10000
      while ((await openRooms()) > 0 && now() < deadline) await sleep(50)
      const left = await openRooms()
      if (left > 0) log(`warning: ${left} rooms still open before a cold join`)
      result.open_rooms_before_cold = left
    }
    result.cold.push(summary(await s4Join(room, expected)))
  }
  return result
}

function parseMetrics (text) {
  const out = {}
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (m) out[m[1] + (m[2] ?? '')] = Number(m[3])
  }
  return out
}
async function readMetrics () {
  if (!opt['metrics-url']) return null
  const res = await fetch(opt['metrics-url'])
  return parseMetrics(await res.text())
}

async function appends () {
  const nWriters = Number(opt.clients ?? 20)
  const duration = Number(opt['duration-s'] ?? 10) * 1000
  const win = Number(opt.window)
  const rooms = []
  for (let d = 0; d < nWriters; d++) rooms.push(`${opt.prefix}-ap-${d}`, `${opt.prefix}-ap-${d}`)
  const clients = await connectAll(rooms)
  const pairs = []
  for (let d = 0; d < nWriters; d++) {
    const pair = { writer: clients[2 * d], observer: clients[2 * d + 1], sent: 0, acked: 0, wake: null }
    pair.observer.map.observe(() => {
      const seq = pair.observer.map.get('seq')
      if (typeof seq === 'number' && seq > pair.acked) pair.acked = seq
      if (pair.wake) { const w = pair.wake; pair.wake = null; w() }
    })
    pairs.push(pair)
  }
  let running = true
  const loops = pairs.map(async (pair) => {
    while (running) {
      while (running && pair.sent - pair.acked < win) {
        pair.sent++
        const seq = pair.sent
        pair.writer.doc.transact(() => {
          pair.writer.text.insert(pair.writer.text.length, 'abcde')
          pair.writer.map.set('seq', seq)
        })
      }
      await new Promise((resolve) => { pair.wake = resolve; setTimeout(resolve, 1000) })
    }
  })
  await sleep(1000) // warm-up
  const acked0 = pairs.reduce((a, p) => a + p.acked, 0)
  const m0 = await readMetrics()
  const t0 = now()
  await sleep(duration)
  const acked1 = pairs.reduce((a, p) => a + p.acked, 0)
  const m1 = await readMetrics()
  const seconds = (now() - t0) / 1000
  running = false
  await Promise.race([Promise.all(loops), sleep(2000)])
  destroyAll(clients)
  const result = { writers: nWriters, window: win, seconds, acked_per_s: (acked1 - acked0) / seconds }
  if (m0 && m1) {
    const d = (k) => (m1[k] ?? 0) - (m0[k] ?? 0)
    const received = d('inkweave_updates_received_total')
    const batches = d('inkweave_store_append_batch_size_count')
    result.server = {
      updates_received_per_s: received / seconds,
      batches_per_s: batches / seconds,
      mean_batch_size: batches ? d('inkweave_store_append_batch_size_sum') / batches : null,
      mean_append_ms: d('inkweave_store_append_seconds_count')
        ? (1000 * d('inkweave_store_append_seconds_sum')) / d('inkweave_store_append_seconds_count')
        : null,
      append_le_10ms_fraction: d('inkweave_store_append_seconds_count')
        ? d('inkweave_store_append_seconds_bucket{le="0.01"}') / d('inkweave_store_append_seconds_count')
        : null
    }
  }
  return result
}

async function collect () {
  if (!opt['gc-url']) return
  try { await fetch(opt['gc-url']) } catch (e) { log(`gc request failed: ${e}`) }
  await sleep(200)
}

async function memory () {
  const pid = Number(opt.pid)
  if (!pid) fail('--pid is required')
  const nDocs = Number(opt.docs ?? 200)
  const chars = Number(opt.chars)
  const settle = Number(opt['settle-s']) * 1000
  const fill = async (clients) => {
    for (const c of clients) {
      for (let i = 0; i < chars; i += 100) {
        c.text.insert(c.text.length, chinese(Math.min(100, chars - i)))
      }
    }
  }
  // Warm-up: one document opened, written and kept, so that lazy imports and first-use caches are
  // in the baseline, not in the per-document figure.
  const warm = await connectAll([`${opt.prefix}-mem-warm`])
  await fill(warm)
  await sleep(settle)
  await collect()
  const before = rssKiB(pid)
  const rooms = Array.from({ length: nDocs }, (_, d) => `${opt.prefix}-mem-${d}`)
  const clients = []
  for (let i = 0; i < rooms.length; i += 20) {
    const group = await connectAll(rooms.slice(i, i + 20))
    await fill(group)
    clients.push(...group)
    await sleep(50)
  }
  // Each document is confirmed by a second, short-lived reader only at the end (cheap check on a
  // sample), then the server settles before RSS is read.
  const probe = await connectAll(rooms.slice(0, 5))
  await waitFor(() => probe.every((p) => p.text.length >= chars), 30000, 'documents to be complete')
  destroyAll(probe)
  await sleep(settle)
  await collect()
  const after = rssKiB(pid)
  await sleep(1000)
  await collect()
  const after2 = rssKiB(pid)
  destroyAll(clients)
  destroyAll(warm)
  const grown = Math.max(after, after2) - before
  return { docs: nDocs, chars, rss_before_kib: before, rss_after_kib: Math.max(after, after2), per_doc_kib: grown / nDocs }
}

async function awareness () {
  const n = Number(opt.clients ?? 20)
  const idle = Number(opt['idle-s'] ?? 35) * 1000
  const room = `${opt.prefix}-aw`
  const colours = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231']
  const clients = await connectAll(Array(n).fill(room), {
    batch: n,
    awareness: (i) => ({ user: { name: `writer-${i}`, color: colours[i % colours.length] }, cursor: { anchor: i, head: i } })
  })
  // Everyone must see everyone before the idle period starts.
  await waitFor(() => clients.every((c) => c.awareness.getStates().size >= n), 15000, 'presence to converge')
    .catch((e) => log(e.message))
  await sleep(2000)
  for (const c of clients) c.resetFrames()
  const t0 = now()
  await sleep(idle)
  const seconds = (now() - t0) / 1000
  const frames = clients.map((c) => ({ ...c.frames }))
  const seen = clients.map((c) => c.awareness.getStates().size)
  destroyAll(clients)
  const total = frames.reduce((a, f) => a + f.awareness, 0)
  return {
    clients: n,
    seconds,
    awareness_frames_total: total,
    awareness_per_client_per_min: (total / n / seconds) * 60,
    all_frames_per_client_per_min: (frames.reduce((a, f) => a + f.total, 0) / n / seconds) * 60,
    presence_seen_min: Math.min(...seen)
  }
}

// Connection rate: open new clients at a fixed rate for --step-s (each joins one of the
// documents, round robin, and leaves --hold-ms after its first sync), doubling the rate from
// --start-rate until some client waits more than --threshold-ms for its first sync, then
// --refine bisection steps. One holder per document stays connected throughout (the documents
// are open, with --chars characters). Result: the highest rate at which every client synced in time.
async function connrate () {
  const threshold = Number(opt['threshold-ms'])
  const stepMs = Number(opt['step-s']) * 1000
  const holdMs = Number(opt['hold-ms'])
  const token = opt.token ?? null
  const docs = opt['doc-list']
    ? opt['doc-list'].split(',')
    : Array.from({ length: Number(opt.docs ?? 20) }, (_, d) => `${opt.prefix}-cr-${d}`)
  const holders = []
  for (const room of docs) holders.push(new Client(room, { token }))
  await withTimeout(Promise.all(holders.map((c) => c.whenSynced)), 30000, 'the holders to sync')
  const chars = Number(opt.chars)
  for (const c of holders) {
    if (c.text.length === 0) c.text.insert(0, chinese(chars))
  }
  await sleep(3000) // what the text fill sets off settles first (Inkweave: the debounced projection)

  async function step (rate) {
    const total = Math.max(1, Math.round((rate * stepMs) / 1000))
    const clients = []
    const loop = monitorEventLoopDelay({ resolution: 5 })
    loop.enable()
    const t0 = now()
    let opened = 0
    while (opened < total) {
      const due = Math.min(total, Math.floor(((now() - t0) * rate) / 1000) + 1)
      for (; opened < due; opened++) {
        const c = new Client(docs[opened % docs.length], { token })
        clients.push(c)
        c.whenSynced.then(() => setTimeout(() => c.destroy(), holdMs))
      }
      await sleep(2)
    }
    const openedIn = (now() - t0) / 1000
    await withTimeout(Promise.all(clients.map((c) => c.whenSynced)), 15000, 'a step to sync')
      .catch((e) => log(e.message))
    loop.disable()
    const waits = clients.filter((c) => c.synced).map((c) => c.syncedAt - c.startedAt)
    const unsynced = clients.length - waits.length
    for (const c of clients) if (!c.synced) c.destroy()
    const wait = summary(waits)
    const passed = unsynced === 0 && wait.max <= threshold
    log(`${rate}/s: max wait ${wait.max} ms, ${unsynced} unsynced: ${passed ? 'pass' : 'fail'}`)
    await sleep(holdMs + 500) // this step's clients leave before the next one starts
    return {
      rate,
      clients: total,
      achieved_per_s: Math.round(total / openedIn),
      wait_ms: wait,
      unsynced,
      passed,
      loadgen_loop_delay_p99_ms: Math.round(loop.percentile(99) / 1e4) / 100
    }
  }

  const steps = []
  let pass = null
  let fail = null
  const stepsCpu = serverCpuWindow() // the new clients only, not the holders' set-up
  for (let rate = Number(opt['start-rate']); rate <= Number(opt['max-rate']); rate *= 2) {
    const s = await step(rate)
    steps.push(s)
    if (!s.passed) { fail = rate; break }
    pass = rate
  }
  for (let r = 0; r < Number(opt.refine) && pass !== null && fail !== null; r++) {
    const mid = Math.round((pass + fail) / 2)
    if (mid === pass || mid === fail) break
    const s = await step(mid)
    steps.push(s)
    if (s.passed) pass = mid
    else fail = mid
  }
  const stepsServerCpu = stepsCpu()
  destroyAll(holders)
  const opened = steps.reduce((a, s) => a + s.clients, 0)
  return { threshold_ms: threshold, max_rate_per_s: pass ?? 0, first_failing_rate: fail, docs: docs.length, authenticated: Boolean(token), clients_opened: opened, steps_server_cpu_s: stepsServerCpu, steps }
}

const scenarios = { s2, s3, s3heavy, joinwave, burst, s4, appends, memory, awareness, connrate }
if (!scenarios[scenario]) fail(`unknown scenario ${scenario}; one of ${Object.keys(scenarios).join(', ')}`)

try {
  const started = now()
  const cpu0 = process.cpuUsage()
  const serverCpu0 = opt.pid ? cpuSeconds(Number(opt.pid)) : null
  const busy0 = machineBusySeconds()
  const loopDelay = monitorEventLoopDelay({ resolution: 5 })
  loopDelay.enable()
  const result = await scenarios[scenario]()
  loopDelay.disable()
  const cpu = process.cpuUsage(cpu0)
  const serverCpu1 = opt.pid ? cpuSeconds(Number(opt.pid)) : null
  if (serverCpu0 !== null && serverCpu1 !== null) {
    result.server_cpu_s = Math.round((serverCpu1 - serverCpu0) * 100) / 100
  }
  const busy1 = machineBusySeconds()
  if (busy0 !== null && busy1 !== null) {
    // CPU that neither this load generator nor the server used: other work on the machine, i.e.
    // noise in the latency figures.
    const own = (cpu.user + cpu.system) / 1e6 + (result.server_cpu_s ?? 0)
    result.machine_busy_s = Math.round((busy1 - busy0) * 100) / 100
    result.others_cpu_s = Math.max(0, Math.round((busy1 - busy0 - own) * 100) / 100)
  }
  result.loadgen = {
    cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    event_loop_delay_p99_ms: Math.round(loopDelay.percentile(99) / 1e4) / 100
  }
  result.kind = KIND
  result.scenario = scenario
  result.disconnects = disconnects
  result.url = opt.url
  result.ws_extensions = [...extensions]
  result.wall_s = Math.round((now() - started) / 100) / 10
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
} catch (err) {
  fail(`${err && err.stack ? err.stack : err}`)
}
