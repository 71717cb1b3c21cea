/**
 * The generated protocol messages a connector or a test may need (schemas for `create`/`findAnnotation`, enums,
 * message types). Generated from proto/ by `npm run gen`; see docs/protocol.md for what the messages mean.
 */
export * from './gen/c1/connector/v2/annotation_baton_id_pb.js';
export * from './gen/c1/connector/v2/annotation_entitlement_pb.js';
export * from './gen/c1/connector/v2/annotation_etag_pb.js';
export * from './gen/c1/connector/v2/annotation_exclusion_group_pb.js';
export * from './gen/c1/connector/v2/annotation_external_link_pb.js';
export * from './gen/c1/connector/v2/annotation_external_ticket_pb.js';
export * from './gen/c1/connector/v2/annotation_grant_pb.js';
export * from './gen/c1/connector/v2/annotation_grant_replaced_pb.js';
export * from './gen/c1/connector/v2/annotation_id_alias_pb.js';
export * from './gen/c1/connector/v2/annotation_ratelimit_pb.js';
export * from './gen/c1/connector/v2/annotation_raw_id_pb.js';
export * from './gen/c1/connector/v2/annotation_request_pb.js';
export * from './gen/c1/connector/v2/annotation_resource_deleted_pb.js';
export * from './gen/c1/connector/v2/annotation_resource_pb.js';
export * from './gen/c1/connector/v2/annotation_resource_tree_pb.js';
export * from './gen/c1/connector/v2/annotation_session_pb.js';
export * from './gen/c1/connector/v2/annotation_trait_pb.js';
export * from './gen/c1/connector/v2/annotation_type_scoped_entitlements_pb.js';
export * from './gen/c1/connector/v2/annotation_type_scoped_grants_pb.js';
export * from './gen/c1/connector/v2/annotation_v1_identifier_pb.js';
export * from './gen/c1/connector/v2/asset_pb.js';
export * from './gen/c1/connector/v2/connector_pb.js';
export * from './gen/c1/connector/v2/entitlement_pb.js';
export * from './gen/c1/connector/v2/event_feed_pb.js';
export * from './gen/c1/connector/v2/grant_pb.js';
export * from './gen/c1/connector/v2/resource_pb.js';
/** gRPC server reflection v1 (what grpcurl speaks), for tests that check the server's reflection. */
export * as reflectionV1 from './gen/grpc/reflection/v1/reflection_pb.js';
