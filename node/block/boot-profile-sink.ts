/**
 * Where a node's recorded lazy boots go: the tracker, which holds them as candidates and
 * publishes a profile once enough users' recordings agree (`tracker/repository/
 * boot-profiles.ts`). Asks first whether a recording is wanted (the version has no profile
 * and holds none of this user's), so a boot of a profiled version sends nothing; the
 * answers are parsed with the API's own schemas.
 */
import { BootProfileStateSchema, BootProfileSubmitResultSchema } from '../../protocol/index.ts'
import type { BootProfileCandidateBody, BootProfileSubmitResult } from '../../protocol/index.ts'

export interface BootProfileSink {
  /** whether the tracker takes a recording of this version from this node's user now */
  wanted: (image: string, version: number, options: { signal?: AbortSignal }) => Promise<boolean>
  submit: (image: string, version: number, recording: Omit<BootProfileCandidateBody, 'clientId'>, options: { signal?: AbortSignal }) => Promise<BootProfileSubmitResult>
}

/** The API client calls it needs (the node's authenticated `ApiClient` has them). */
export interface BootProfileApi {
  json: <T>(method: string, path: string, options?: { json?: unknown, signal?: AbortSignal }) => Promise<T>
}

/** The tracker as a sink, naming this node's peer id as the recording's client. */
export function trackerBootProfileSink (api: BootProfileApi, clientId: string): BootProfileSink {
  const path = (image: string, version: number): string => `/api/v1/images/${encodeURIComponent(image)}/versions/${version}/boot-profile`
  return {
    async wanted (image, version, { signal }) {
      return BootProfileStateSchema.parse(await api.json('GET', `${path(image, version)}/state`, { signal })).wanted
    },
    async submit (image, version, recording, { signal }) {
      return BootProfileSubmitResultSchema.parse(await api.json('POST', `${path(image, version)}/candidates`, { json: { clientId, ...recording }, signal }))
    }
  }
}
