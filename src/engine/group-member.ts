/**
 * One member of a classic consumer group, as the coordinator sees it: identity, timeouts,
 * the protocols it offered in its last JoinGroup, its current assignment, and the JoinGroup /
 * SyncGroup calls it has parked on the coordinator.
 *
 * Invariants: a member has at most one parked join and one parked sync (a newer one replaces
 * the older); `sessionTimer` is armed exactly while the member is in its group's member map
 * and the coordinator is open.
 */
import type { SluiceError } from '../core/errors.js'

/** One (name, metadata) pair of a JoinGroup request, in the member's order of preference. */
export interface JoinGroupProtocol {
  name: string
  metadata: Uint8Array
}

/** A parked request: the coordinator settles it when the group moves on. */
export interface GroupWaiter<Result> {
  resolve (result: Result): void
  reject (error: SluiceError): void
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0)

export class GroupMember {
  /** Assignment bytes from the leader's SyncGroup for the current generation. */
  assignment: Uint8Array = EMPTY_BYTES
  joinWaiter: GroupWaiter<unknown> | null = null
  syncWaiter: GroupWaiter<unknown> | null = null
  /** True until the member's first JoinGroup completes; an abandoned first join removes it. */
  isNew = true
  /** Wall-clock ms after which the member is expired unless it shows signs of life. */
  sessionDeadline = 0
  sessionTimer: unknown = null

  constructor (
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public sessionTimeoutMs: number,
    public rebalanceTimeoutMs: number,
    public protocolType: string,
    public protocols: JoinGroupProtocol[]
  ) {}

  get isAwaitingJoin (): boolean { return this.joinWaiter !== null }
  get isAwaitingSync (): boolean { return this.syncWaiter !== null }

  /** The metadata this member offered for `protocolName`; empty when it offered none. */
  metadata (protocolName: string | null): Uint8Array {
    if (protocolName === null) return EMPTY_BYTES
    for (const protocol of this.protocols) if (protocol.name === protocolName) return protocol.metadata
    return EMPTY_BYTES
  }

  /** True when `protocols` equals what the member offered last time, names and bytes alike. */
  matches (protocols: readonly JoinGroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false
    for (let index = 0; index < protocols.length; index++) {
      const a = protocols[index]!
      const b = this.protocols[index]!
      if (a.name !== b.name || !bytesEqual(a.metadata, b.metadata)) return false
    }
    return true
  }
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let index = 0; index < a.byteLength; index++) if (a[index] !== b[index]) return false
  return true
}
