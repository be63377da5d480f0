//! gRPC server reflection (v1 and v1alpha), as `grpcurl`-style clients use it.

use crate::support::Server;

const TOLLGATE_SERVICES: [&str; 2] = ["tollgate.v1.DecisionService", "tollgate.v1.BundleService"];
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// A reflection client of one protocol version: `list` the services,
/// `describe` the file defining a symbol, `file` a file by name (each
/// answer's file descriptors decoded).
macro_rules! reflection {
    ($version:ident) => {
        pub mod $version {
            use prost::Message as _;
            use tonic_reflection::pb::$version::{
                ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
                server_reflection_request::MessageRequest,
                server_reflection_response::MessageResponse,
            };

            use crate::support::Server;

            async fn exchange(server: &Server, request: MessageRequest) -> MessageResponse {
                let mut client = ServerReflectionClient::new(server.channel());
                let request = ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(request),
                };
                let mut responses = client
                    .server_reflection_info(tokio_stream::iter([request]))
                    .await
                    .expect("ServerReflectionInfo")
                    .into_inner();
                let response = responses.message().await.expect("an answer");
                let response = response.expect("a response").message_response;
                response.expect("a message response")
            }

            async fn files(
                server: &Server,
                request: MessageRequest,
            ) -> Vec<prost_types::FileDescriptorProto> {
                match exchange(server, request).await {
                    MessageResponse::FileDescriptorResponse(found) => found
                        .file_descriptor_proto
                        .iter()
                        .map(|b| prost_types::FileDescriptorProto::decode(&b[..]).expect("fd"))
                        .collect(),
                    other => panic!("no file descriptors: {other:?}"),
                }
            }

            pub async fn list(server: &Server) -> Vec<String> {
                match exchange(server, MessageRequest::ListServices(String::new())).await {
                    MessageResponse::ListServicesResponse(list) => {
                        list.service.into_iter().map(|s| s.name).collect()
                    }
                    other => panic!("not a list of services: {other:?}"),
                }
            }

            pub async fn describe(
                server: &Server,
                symbol: &str,
            ) -> Vec<prost_types::FileDescriptorProto> {
                let symbol = MessageRequest::FileContainingSymbol(symbol.to_owned());
                files(server, symbol).await
            }

            pub async fn file(
                server: &Server,
                name: &str,
            ) -> Vec<prost_types::FileDescriptorProto> {
                files(server, MessageRequest::FileByFilename(name.to_owned())).await
            }
        }
    };
}

reflection!(v1);
reflection!(v1alpha);

fn assert_lists(names: &[String], services: &[&str]) {
    for want in services {
        assert!(
            names.iter().any(|n| n == want),
            "`{want}` not listed in {names:?}"
        );
    }
}

/// Checks the file defining `tollgate.v1.PlanChangeRequest`.
fn assert_describes_plan_change_request(files: &[prost_types::FileDescriptorProto]) {
    let file = files
        .iter()
        .find(|f| f.name() == "tollgate/v1/tollgate.proto")
        .unwrap_or_else(|| panic!("no tollgate.proto in {:?}", names(files)));
    assert_eq!(file.package(), "tollgate.v1");
    let messages: Vec<&str> = file.message_type.iter().map(|m| m.name()).collect();
    assert!(messages.contains(&"PlanChangeRequest"), "{messages:?}");
    let services: Vec<&str> = file.service.iter().map(|s| s.name()).collect();
    assert!(services.contains(&"DecisionService"), "{services:?}");
}

fn names(files: &[prost_types::FileDescriptorProto]) -> Vec<&str> {
    files.iter().map(|f| f.name()).collect()
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_tollgate_services() {
    let server = Server::embedded().await;
    assert_lists(&v1::list(&server).await, &TOLLGATE_SERVICES);
    assert_lists(&v1alpha::list(&server).await, &TOLLGATE_SERVICES);
}

/// Shows a server bug: the health service is served but not registered with
/// reflection, so `grpcurl list` and friends do not see it.
#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_health_service() {
    let server = Server::embedded().await;
    assert_lists(&v1::list(&server).await, &[HEALTH_SERVICE]);
    assert_lists(&v1alpha::list(&server).await, &[HEALTH_SERVICE]);
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_describe_plan_change_request_and_its_imports() {
    let server = Server::embedded().await;
    let symbol = "tollgate.v1.PlanChangeRequest";
    assert_describes_plan_change_request(&v1::describe(&server, symbol).await);
    assert_describes_plan_change_request(&v1alpha::describe(&server, symbol).await);

    // A client resolves the import the same way.
    let import = "google/protobuf/timestamp.proto";
    assert_eq!(names(&v1::file(&server, import).await), [import]);
    assert_eq!(names(&v1alpha::file(&server, import).await), [import]);
}

/// The error details Tollgate sends are described through both versions,
/// so a client without them compiled in (grpcurl, buf curl) decodes them.
#[tokio::test]
async fn reflection_v1_and_v1alpha_describe_the_error_details_tollgate_sends() {
    let server = Server::embedded().await;
    for symbol in ["google.rpc.BadRequest", "google.rpc.PreconditionFailure"] {
        for files in [
            v1::describe(&server, symbol).await,
            v1alpha::describe(&server, symbol).await,
        ] {
            let described = files.iter().any(|f| {
                f.package() == "google.rpc"
                    && f.message_type
                        .iter()
                        .any(|m| Some(m.name()) == symbol.rsplit('.').next())
            });
            assert!(described, "{symbol}: {:?}", names(&files));
        }
    }
}

/// Shows the same server bug as `reflection_v1_and_v1alpha_list_the_health_service`.
#[tokio::test]
async fn reflection_describes_the_health_service() {
    let server = Server::embedded().await;
    let files = v1::describe(&server, HEALTH_SERVICE).await;
    let packages: Vec<&str> = files.iter().map(|f| f.package()).collect();
    assert!(packages.contains(&"grpc.health.v1"), "{:?}", names(&files));
}
