/**
 * Every file descriptor of our protocol: gRPC reflection answers from them, and protojson (Connect JSON, JSONL
 * files, inspect, capabilities) resolves Any-packed annotations through protocolRegistry().
 * Keep in step with proto/ (a test checks every generated file is listed).
 */
import { createRegistry, type DescFile, type Registry } from '@bufbuild/protobuf';
import {
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from '@bufbuild/protobuf/wkt';
import { file_c1_c1z_v1_annotation_sync_details } from './gen/c1/c1z/v1/annotation_sync_details_pb.js';
import { file_c1_connector_v2_annotation_baton_id } from './gen/c1/connector/v2/annotation_baton_id_pb.js';
import { file_c1_connector_v2_annotation_entitlement } from './gen/c1/connector/v2/annotation_entitlement_pb.js';
import { file_c1_connector_v2_annotation_etag } from './gen/c1/connector/v2/annotation_etag_pb.js';
import { file_c1_connector_v2_annotation_exclusion_group } from './gen/c1/connector/v2/annotation_exclusion_group_pb.js';
import { file_c1_connector_v2_annotation_external_link } from './gen/c1/connector/v2/annotation_external_link_pb.js';
import { file_c1_connector_v2_annotation_external_ticket } from './gen/c1/connector/v2/annotation_external_ticket_pb.js';
import { file_c1_connector_v2_annotation_grant } from './gen/c1/connector/v2/annotation_grant_pb.js';
import { file_c1_connector_v2_annotation_grant_replaced } from './gen/c1/connector/v2/annotation_grant_replaced_pb.js';
import { file_c1_connector_v2_annotation_id_alias } from './gen/c1/connector/v2/annotation_id_alias_pb.js';
import { file_c1_connector_v2_annotation_ratelimit } from './gen/c1/connector/v2/annotation_ratelimit_pb.js';
import { file_c1_connector_v2_annotation_raw_id } from './gen/c1/connector/v2/annotation_raw_id_pb.js';
import { file_c1_connector_v2_annotation_request } from './gen/c1/connector/v2/annotation_request_pb.js';
import { file_c1_connector_v2_annotation_resource_deleted } from './gen/c1/connector/v2/annotation_resource_deleted_pb.js';
import { file_c1_connector_v2_annotation_resource } from './gen/c1/connector/v2/annotation_resource_pb.js';
import { file_c1_connector_v2_annotation_resource_tree } from './gen/c1/connector/v2/annotation_resource_tree_pb.js';
import { file_c1_connector_v2_annotation_session } from './gen/c1/connector/v2/annotation_session_pb.js';
import { file_c1_connector_v2_annotation_trait } from './gen/c1/connector/v2/annotation_trait_pb.js';
import { file_c1_connector_v2_annotation_type_scoped_entitlements } from './gen/c1/connector/v2/annotation_type_scoped_entitlements_pb.js';
import { file_c1_connector_v2_annotation_type_scoped_grants } from './gen/c1/connector/v2/annotation_type_scoped_grants_pb.js';
import { file_c1_connector_v2_annotation_v1_identifier } from './gen/c1/connector/v2/annotation_v1_identifier_pb.js';
import { file_c1_connector_v2_asset } from './gen/c1/connector/v2/asset_pb.js';
import { file_c1_connector_v2_connector } from './gen/c1/connector/v2/connector_pb.js';
import { file_c1_connector_v2_entitlement } from './gen/c1/connector/v2/entitlement_pb.js';
import { file_c1_connector_v2_event_feed } from './gen/c1/connector/v2/event_feed_pb.js';
import { file_c1_connector_v2_grant } from './gen/c1/connector/v2/grant_pb.js';
import { file_c1_connector_v2_resource } from './gen/c1/connector/v2/resource_pb.js';
import { file_c1_connector_wrapper_v1_connector_wrapper } from './gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import { file_c1_ratelimit_v1_ratelimit } from './gen/c1/ratelimit/v1/ratelimit_pb.js';
import { file_c1_utls_v1_tls } from './gen/c1/utls/v1/tls_pb.js';
import { file_google_rpc_status } from './gen/google/rpc/status_pb.js';
import { file_grpc_health_v1_health } from './gen/grpc/health/v1/health_pb.js';
import { file_grpc_reflection_v1_reflection } from './gen/grpc/reflection/v1/reflection_pb.js';
import { file_grpc_reflection_v1alpha_reflection } from './gen/grpc/reflection/v1alpha/reflection_pb.js';

export function allFiles(): DescFile[] {
  return [
    file_c1_c1z_v1_annotation_sync_details,
    file_c1_connector_v2_annotation_baton_id,
    file_c1_connector_v2_annotation_entitlement,
    file_c1_connector_v2_annotation_etag,
    file_c1_connector_v2_annotation_exclusion_group,
    file_c1_connector_v2_annotation_external_link,
    file_c1_connector_v2_annotation_external_ticket,
    file_c1_connector_v2_annotation_grant,
    file_c1_connector_v2_annotation_grant_replaced,
    file_c1_connector_v2_annotation_id_alias,
    file_c1_connector_v2_annotation_ratelimit,
    file_c1_connector_v2_annotation_raw_id,
    file_c1_connector_v2_annotation_request,
    file_c1_connector_v2_annotation_resource_deleted,
    file_c1_connector_v2_annotation_resource,
    file_c1_connector_v2_annotation_resource_tree,
    file_c1_connector_v2_annotation_session,
    file_c1_connector_v2_annotation_trait,
    file_c1_connector_v2_annotation_type_scoped_entitlements,
    file_c1_connector_v2_annotation_type_scoped_grants,
    file_c1_connector_v2_annotation_v1_identifier,
    file_c1_connector_v2_asset,
    file_c1_connector_v2_connector,
    file_c1_connector_v2_entitlement,
    file_c1_connector_v2_event_feed,
    file_c1_connector_v2_grant,
    file_c1_connector_v2_resource,
    file_c1_connector_wrapper_v1_connector_wrapper,
    file_c1_ratelimit_v1_ratelimit,
    file_c1_utls_v1_tls,
    file_google_rpc_status,
    file_grpc_health_v1_health,
    file_grpc_reflection_v1_reflection,
    file_grpc_reflection_v1alpha_reflection,
  ];
}

let registry: Registry | undefined;

/**
 * Every message and enum of our .proto files plus the well-known types, for protojson (an annotation may be any
 * of them, e.g. a StringValue packed in an Any); built once.
 */
export function protocolRegistry(): Registry {
  registry ??= createRegistry(
    file_google_protobuf_any,
    file_google_protobuf_duration,
    file_google_protobuf_empty,
    file_google_protobuf_struct,
    file_google_protobuf_timestamp,
    file_google_protobuf_wrappers,
    ...allFiles(),
  );
  return registry;
}

/**
 * A Registry that builds protocolRegistry() on first use. The server hands it to Connect for JSON, which only a
 * curl user ever needs; building the real registry costs ~15 ms that a host's plugin start-up should not pay.
 */
export function lazyProtocolRegistry(): Registry {
  const real = () => protocolRegistry();
  return {
    kind: 'registry',
    get: (typeName) => real().get(typeName),
    getMessage: (typeName) => real().getMessage(typeName),
    getEnum: (typeName) => real().getEnum(typeName),
    getExtension: (typeName) => real().getExtension(typeName),
    getExtensionFor: (extendee, no) => real().getExtensionFor(extendee, no),
    getService: (typeName) => real().getService(typeName),
    [Symbol.iterator]: () => real()[Symbol.iterator](),
  };
}
