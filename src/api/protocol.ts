// The agent API protocol: JSON text frames over a WebSocket (see docs/agent.md).

/** Bumped on incompatible changes; `status` reports it. */
export const PROTOCOL_VERSION = 1;

export interface Request {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export interface ErrorBody {
  /** stable machine-readable code */
  code: ErrorCode;
  /** one line for humans */
  message: string;
  /** policy diagnostics, already rendered `file:line:col: severity: message` */
  diagnostics?: string[];
}

export type ErrorCode = 'bad_request' | 'unknown_method' | 'not_found' | 'exists' | 'invalid' | 'failed';

export type Response = { id: number; result: unknown } | { id: number; error: ErrorBody };

/** A pushed event of a subscription. */
export interface Notification {
  subscription: number;
  event: Record<string, unknown>;
}

export type ServerMessage = Response | Notification;

/** Thrown by method handlers to send a specific error code. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly diagnostics?: string[],
  ) {
    super(message);
  }
}

/** Header a TCP client puts its token in: `Authorization: Bearer <token>`. */
export const AUTH_HEADER = 'authorization';
