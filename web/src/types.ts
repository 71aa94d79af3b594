// Shapes of the REST API's data (see api/routers/*.py).

export type WorkType = 'novel' | 'script'
export type Role = 'owner' | 'editor' | 'viewer'

export interface Work {
  id: number
  user_id: number
  title: string
  type: WorkType
  genre: string | null
  status: string
  word_count: number
  chapter_count: number
  role: Role | null
  updated_at: string
}

export interface Chapter {
  id: number
  work_id: number
  chapter_number: number
  title: string | null
  content_id: string
  word_count: number
  sort_order: number
  updated_at: string
}

export interface Member {
  user_id: number
  username: string
  avatar_url: string | null
  role: Role
  joined_at: string
}

/** An invitation of an email that has no account yet (the owner sees these). */
export interface PendingInvitation {
  pending: true
  id: number
  work_id: number
  email: string
  role: Role
  invited_by: number
  created_at: string
}

export interface WorkDetail extends Work {
  /** The first page of chapters; `chapters_next` (when not null) continues the list. */
  chapters: Chapter[]
  chapters_next: number | null
  members: Member[]
}

/** A page of `GET /works/{id}/chapters`: pass `next` as `after` for the following one. */
export interface ChapterPage {
  total: number
  page: number | null
  page_size: number
  items: Chapter[]
  has_more: boolean
  next: number | null
}

export interface ChapterContent {
  chapter_id: number
  work_id: number
  content_id: string
  title: string | null
  content: string
  word_count: number
  role: Role
}

export interface Version {
  id: number
  chapter_id: number
  name: string
  author: string | null
  created_at: string
  size: number
}

export interface VersionText extends Version {
  content: string
  word_count: number
}

export interface Material {
  id: number
  title: string
  type: 'character' | 'scene' | 'dialogue' | 'plot'
  genre: string | null
  content: string
  is_system: boolean
  is_public: boolean
  is_mine: boolean
  use_count: number
}

export type TaskStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled'

export interface AiTask {
  task_id: string
  type: string
  status: TaskStatus
  progress: number | null
  result: unknown
  error: unknown
  provider: string | null
  model: string | null
  /** True when no model wrote it: the offline provider's demo text; `hint` says how to connect one. */
  demo?: boolean
  hint?: string | null
}

export interface ExportTask {
  task_id?: string
  status: TaskStatus
  progress: number | null
  download_url: string | null
  expire_at: string | null
  error?: unknown
}

/** One step of the Snowflake method, with what this work has saved for it. */
export interface SnowflakeStep {
  step: number
  name: string
  instruction: string
  content: string | null
}

export interface OutlineChapter {
  title: string
  summary: string
}

export interface OutlineResult {
  chapters: OutlineChapter[]
  applied: boolean
}

export type FindingKind = 'name' | 'timeline' | 'repetition'

export interface ReviewFinding {
  kind: FindingKind
  message: string
  chapter_id: number
  start: number
  end: number
  excerpt: string
}

export interface ReviewResult {
  findings: ReviewFinding[]
  chapters: number
  characters: number
}

export const FINISHED: readonly TaskStatus[] = ['completed', 'failed', 'cancelled']
