// Claims → principal: the configurable mapping (user claim, groups claim, role claim,
// admin and read-only-admin groups), one rule per row.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { principalFromClaims } from '../../../../tracker/identity/index.ts'
import type { ClaimMapping } from '../../../../tracker/identity/index.ts'
import { throwsCode } from '../../../helpers/rejects.ts'

const BASE: ClaimMapping = { userClaim: 'sub', groupsClaim: 'groups', adminGroups: [], readOnlyAdminGroups: [] }

const ROWS: Array<[string, Record<string, unknown>, Partial<ClaimMapping>, { user: string, groups: string[], role: string }]> = [
  ['sub and groups by default', { sub: 'u1', groups: ['a', 'b'] }, {}, { user: 'u1', groups: ['a', 'b'], role: 'user' }],
  ['another user claim', { sub: 'x-9', preferred_username: 'ann' }, { userClaim: 'preferred_username' }, { user: 'ann', groups: [], role: 'user' }],
  ['groups as a space-separated string, duplicates dropped', { sub: 'u', roles: 'a b  a' }, { groupsClaim: 'roles' }, { user: 'u', groups: ['a', 'b'], role: 'user' }],
  ['an admin group makes an admin', { sub: 'u', groups: ['staff', 'bc-admins'] }, { adminGroups: ['bc-admins'] }, { user: 'u', groups: ['staff', 'bc-admins'], role: 'admin' }],
  ['a read-only admin group', { sub: 'u', groups: ['auditors'] }, { readOnlyAdminGroups: ['auditors'] }, { user: 'u', groups: ['auditors'], role: 'read-only-admin' }],
  ['both groups: the full admin wins', { sub: 'u', groups: ['auditors', 'bc-admins'] }, { adminGroups: ['bc-admins'], readOnlyAdminGroups: ['auditors'] }, { user: 'u', groups: ['auditors', 'bc-admins'], role: 'admin' }],
  ['a role claim (array)', { sub: 'u', app_roles: ['read-only-admin'] }, { roleClaim: 'app_roles' }, { user: 'u', groups: [], role: 'read-only-admin' }],
  ['a role claim (string)', { sub: 'u', app_roles: 'admin' }, { roleClaim: 'app_roles' }, { user: 'u', groups: [], role: 'admin' }],
  ['a role claim nobody configured is ignored', { sub: 'u', branchcast_role: 'admin' }, {}, { user: 'u', groups: [], role: 'user' }]
]

for (const [name, payload, mapping, want] of ROWS) {
  test(name, () => {
    const p = principalFromClaims(payload, { ...BASE, ...mapping })
    assert.equal({ user: p.user, groups: p.groups, role: p.role }, want)
    assert.is(p.admin, want.role !== 'user')
    assert.is(p.via, 'access-token')
  })
}

const BAD: Array<[string, Record<string, unknown>]> = [
  ['no user', { groups: [] }],
  ['user not a string', { sub: 42 }],
  ['groups not strings', { sub: 'u', groups: [{}] }],
  ['too many groups', { sub: 'u', groups: Array.from({ length: 257 }, (_, i) => `g${i}`) }]
]
for (const [name, payload] of BAD) {
  test(`ERR_TOKEN_CLAIMS: ${name}`, async () => {
    throwsCode(() => principalFromClaims(payload, BASE), 'ERR_TOKEN_CLAIMS')
  })
}

test.run()
