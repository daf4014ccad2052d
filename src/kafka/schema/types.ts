/**
 * The data form of Kafka's message schemas, as generated into `src/kafka/apis/*.ts` by
 * `scripts/gen-kafka-apis.mjs` from apache/kafka's `common/message/*.json`.
 *
 * A message is an ordered list of fields. Each field says in which versions it exists, in which
 * it may be null, and whether (and under which tag) it travels in the tagged-field buffer. The
 * codec (`codec.ts`) interprets these lists per version; nothing here is version-specific code.
 *
 * Version ranges are inclusive `[min, max]` pairs; an open range ("3+") has max `VERSION_MAX`.
 */

/** Upper bound standing for "and every later version". */
export const VERSION_MAX = 0x7fff

export type VersionRange = readonly [number, number]

export type PrimitiveType =
  | 'int8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'float64' | 'bool'
  | 'uuid' | 'string' | 'bytes' | 'records'

/** A field's default value as written in the schema (`default` key); absent means the type's zero. */
export type FieldDefault = number | boolean | string | null

export interface FieldSchema {
  /** Property name in the decoded object (camelCase of the schema's name). */
  readonly name: string
  /** A primitive, or 'struct' with `fields`. */
  readonly type: PrimitiveType | 'struct'
  /** True for `[]T` fields. */
  readonly array?: boolean
  readonly versions: VersionRange
  readonly nullable?: VersionRange
  /** Present for tagged fields: the tag and the versions in which the field is tagged. */
  readonly tag?: number
  readonly taggedVersions?: VersionRange
  /** Overrides the message's flexible versions for this field (RequestHeader.ClientId: never). */
  readonly flexibleVersions?: VersionRange | null
  readonly default?: FieldDefault
  readonly fields?: readonly FieldSchema[]
}

export interface MessageSchema {
  readonly name: string
  readonly validVersions: VersionRange
  /** Versions with compact encodings and tagged fields; null when none are. */
  readonly flexibleVersions: VersionRange | null
  readonly fields: readonly FieldSchema[]
}

/**
 * One Kafka API: its request and response schemas. `Request`/`Response` are the decoded object
 * types (phantom parameters so that typed helpers can infer them).
 */
export interface ApiSchema<Request = unknown, Response = unknown> {
  readonly apiKey: number
  /** Kafka's API name, e.g. 'Produce'. */
  readonly name: string
  /** The versions Sluice implements (and advertises), a subrange of the schema's. */
  readonly validVersions: VersionRange
  readonly flexibleVersions: VersionRange | null
  readonly request: readonly FieldSchema[]
  readonly response: readonly FieldSchema[]
  /** Type-only marker; never set at run time. */
  readonly __types?: { request: Request, response: Response }
}

export type RequestOf<A> = A extends ApiSchema<infer R, unknown> ? R : never
export type ResponseOf<A> = A extends ApiSchema<unknown, infer R> ? R : never

/**
 * What encoders accept: every field may be left out and takes its default, as in Kafka's
 * generated message classes (numbers 0, strings '', arrays empty, explicit schema defaults).
 * Buffers and arrays of primitives are taken as they are.
 */
export type MessageInput<T> =
  T extends Buffer ? T
    : T extends ReadonlyArray<infer E> ? ReadonlyArray<MessageInput<E>>
      : T extends object ? { [K in keyof T]?: MessageInput<T[K]> }
        : T

export function inRange (range: VersionRange | null | undefined, version: number): boolean {
  return range !== null && range !== undefined && version >= range[0] && version <= range[1]
}
