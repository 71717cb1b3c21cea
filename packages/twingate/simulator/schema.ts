/**
 * The subset of Twingate's Admin API schema that identity governance needs. Names of types that clients write in
 * variable declarations (`ID!`, `UserRole!`, `UserFilterInput`, `GroupFilterInput`, `UserStateUpdateInput`) follow
 * what Twingate's own Terraform provider sends, so the same query texts validate here and against the real API.
 */
export const TWINGATE_SDL = /* GraphQL */ `
  "ISO-8601 date and time"
  scalar DateTime

  interface Node {
    id: ID!
  }

  enum UserRole {
    ADMIN
    DEVOPS
    SUPPORT
    ACCESS_REVIEWER
    MEMBER
  }

  enum UserStateValue {
    ACTIVE
    DISABLED
    PENDING
  }

  "States an admin may set; PENDING only ends when the invited user signs in."
  enum UserStateUpdateInput {
    ACTIVE
    DISABLED
  }

  enum UserType {
    MANUAL
    SYNCED
  }

  enum GroupType {
    MANUAL
    SYNCED
    SYSTEM
  }

  type PageInfo {
    startCursor: String
    endCursor: String
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
  }

  input StringFilterOperationInput {
    eq: String
    ne: String
    startsWith: String
    endsWith: String
    contains: String
    regexp: String
  }

  input UserRoleFilterOperationInput {
    in: [UserRole!]
  }

  input GroupTypeFilterOperatorInput {
    in: [GroupType!]
  }

  input BooleanFilterOperatorInput {
    eq: Boolean
  }

  input UserFilterInput {
    firstName: StringFilterOperationInput
    lastName: StringFilterOperationInput
    email: StringFilterOperationInput
    role: UserRoleFilterOperationInput
  }

  input GroupFilterInput {
    name: StringFilterOperationInput
    type: GroupTypeFilterOperatorInput
    isActive: BooleanFilterOperatorInput
  }

  type User implements Node {
    id: ID!
    firstName: String!
    lastName: String!
    email: String!
    role: UserRole!
    "True for every role except MEMBER (kept for old clients)."
    isAdmin: Boolean!
    state: UserStateValue!
    type: UserType!
    createdAt: DateTime!
    updatedAt: DateTime!
    groups(after: String, first: Int, before: String, last: Int): GroupConnection!
  }

  type UserEdge {
    node: User!
    cursor: String!
  }

  type UserConnection {
    edges: [UserEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type Group implements Node {
    id: ID!
    name: String!
    type: GroupType!
    isActive: Boolean!
    createdAt: DateTime!
    updatedAt: DateTime!
    users(after: String, first: Int, before: String, last: Int): UserConnection!
  }

  type GroupEdge {
    node: Group!
    cursor: String!
  }

  type GroupConnection {
    edges: [GroupEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type Query {
    node(id: ID!): Node
    user(id: ID!): User
    users(after: String, first: Int, before: String, last: Int, filter: UserFilterInput): UserConnection
    group(id: ID!): Group
    groups(after: String, first: Int, before: String, last: Int, filter: GroupFilterInput): GroupConnection
  }

  type UserPayload {
    ok: Boolean!
    error: String
    entity: User
  }

  type GroupPayload {
    ok: Boolean!
    error: String
    entity: Group
  }

  type DeleteObjectPayload {
    ok: Boolean!
    error: String
  }

  type Mutation {
    groupUpdate(id: ID!, name: String, isActive: Boolean, addedUserIds: [ID!], removedUserIds: [ID!]): GroupPayload!
    groupCreate(name: String!, userIds: [ID!]): GroupPayload!
    groupDelete(id: ID!): DeleteObjectPayload!
    userRoleUpdate(id: ID!, role: UserRole!): UserPayload!
    userDetailsUpdate(id: ID!, firstName: String, lastName: String, state: UserStateUpdateInput): UserPayload!
    userCreate(
      email: String!
      firstName: String
      lastName: String
      role: UserRole
      shouldSendInvite: Boolean
    ): UserPayload!
    userDelete(id: ID!): DeleteObjectPayload!
  }
`;
