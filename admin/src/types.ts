// Shapes of the Warden admin API (see /api/v1/openapi.json).

export type Role = 'admin' | 'operator' | 'user';

export interface User {
  id: number;
  username: string;
  role: Role;
  extension: string | null;
  disabled: boolean;
  failed_logins: number;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
  user: User;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Extension {
  number: string;
  name: string;
  enabled: boolean;
  max_concurrent_calls: number | null;
  has_voicemail_pin: boolean;
  registrations: number;
  created_at: string;
  updated_at: string;
}

export interface Forwarding {
  number: string;
  forward_always: string | null;
  forward_busy: string | null;
  forward_no_answer: string | null;
  no_answer_secs: number;
  updated_at: string | null;
}

export interface Registration {
  id: number;
  aor: string;
  contact: string;
  source: string;
  transport: string;
  user_agent: string | null;
  expires_at: string;
  expires_in: number;
  registered_at: string;
  refreshed_at: string;
}

export interface Quality {
  packets_received?: number;
  packets_lost?: number;
  packets_sent?: number;
  loss_pct: number;
  jitter_ms: number;
  mos: number;
}

export type CallLifecycleEvent =
  | { kind: 'started'; call: string; caller: string; callee: string; call_id: string }
  | { kind: 'ringing'; call: string; caller: string; callee: string }
  | { kind: 'answered'; call: string; caller: string; callee: string; codec: string | null }
  | { kind: 'ended'; call: string; caller: string; callee: string; disposition: Disposition; cause: string; side: string | null };

export interface CallLeg {
  call_id: string;
  party: string;
  remote: string | null;
  codec: string | null;
  quality: Quality | null;
}

export interface LiveCall {
  id: string;
  caller: string;
  callee: string;
  state: string;
  started_at: string;
  answered_at: string | null;
  codec: string | null;
  media_core: number | null;
  legs: CallLeg[];
}

export type Disposition = 'answered' | 'no_answer' | 'busy' | 'failed' | 'cancelled';

export interface CallRecord {
  id: number;
  call_id: string;
  caller: string;
  callee: string;
  started_at: string;
  answered_at: string | null;
  ended_at: string;
  duration_ms: number;
  billable_ms: number;
  disposition: Disposition;
  hangup_cause: string | null;
  hangup_side: string | null;
  codec: string | null;
  caller_quality: Quality | null;
  callee_quality: Quality | null;
  recorded: boolean;
}

export interface CoreLoad {
  core: number;
  sessions: number;
  packets_in_per_sec: number;
  packets_out_per_sec: number;
  dropped_total: number;
  kernel_packets_total: number;
  busy_pct: number;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
  source_ip: string | null;
}

export interface SystemInfo {
  version: string;
  started_at: string;
  uptime_secs: number;
  database: string;
  counts: { extensions: number; registrations: number; live_calls: number; users: number };
  config: Record<string, unknown>;
}

export interface StatsEvent {
  at: string;
  active_calls: number;
  calls_started: number;
  registrations: number;
  cores: CoreLoad[];
}

export interface RegistrationEvent {
  kind: 'registered' | 'unregistered';
  aor: string;
  contact: string | null;
  source?: string;
  expires?: number;
  reason?: string;
}

export interface VoicemailBox {
  number: string;
  enabled: boolean;
  max_message_secs: number;
  updated_at: string | null;
}

export interface VoicemailMessage {
  id: number;
  extension: string;
  caller: string;
  call_id: string;
  received_at: string;
  duration_ms: number;
  heard: boolean;
}
