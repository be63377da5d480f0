//! gRPC server reflection (v1 and v1alpha), as `grpcurl`-style clients use it.

use std::{path::Path, process::Command};

use prost::Message as _;
use tonic_reflection::pb::{v1, v1alpha};

use crate::support::Server;

const TOLLGATE_SERVICES: [&str; 2] = ["tollgate.v1.DecisionService", "tollgate.v1.BundleService"];
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// One v1 reflection exchange.
async fn reflect_v1(
    server: &Server,
    request: v1::server_reflection_request::MessageRequest,
) -> Result<v1::server_reflection_response::MessageResponse, tonic::Status> {
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(server.channel());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("ServerReflectionInfo")
        .into_inner();
    let response = responses.message().await?.expect("a response");
    Ok(response.message_response.expect("a message response"))
}

/// One v1alpha reflection exchange.
async fn reflect_v1alpha(
    server: &Server,
    request: v1alpha::server_reflection_request::MessageRequest,
) -> Result<v1alpha::server_reflection_response::MessageResponse, tonic::Status> {
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(server.channel());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("ServerReflectionInfo")
        .into_inner();
    let response = responses.message().await?.expect("a response");
    Ok(response.message_response.expect("a message response"))
}

fn assert_lists(names: &[String], services: &[&str]) {
    for want in services {
        assert!(
            names.iter().any(|n| n == want),
            "`{want}` not listed in {names:?}"
        );
    }
}

/// Decodes file descriptors and checks the one defining `tollgate.v1.PlanChangeRequest`.
fn assert_describes_plan_change_request(files: &[Vec<u8>]) {
    let files: Vec<prost_types::FileDescriptorProto> = files
        .iter()
        .map(|b| prost_types::FileDescriptorProto::decode(b.as_slice()).expect("descriptor"))
        .collect();
    let file = files
        .iter()
        .find(|f| f.name() == "tollgate/v1/tollgate.proto")
        .unwrap_or_else(|| panic!("no tollgate.proto in {:?}", names(&files)));
    assert_eq!(file.package(), "tollgate.v1");
    assert!(
        file.message_type
            .iter()
            .any(|m| m.name() == "PlanChangeRequest"),
        "no PlanChangeRequest message"
    );
    assert!(
        file.service.iter().any(|s| s.name() == "DecisionService"),
        "no DecisionService"
    );
}

fn names(files: &[prost_types::FileDescriptorProto]) -> Vec<&str> {
    files.iter().map(|f| f.name()).collect()
}

async fn list_v1(server: &Server) -> Vec<String> {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    match reflect_v1(server, MessageRequest::ListServices(String::new())).await {
        Ok(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("not a list of services: {other:?}"),
    }
}

async fn list_v1alpha(server: &Server) -> Vec<String> {
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;
    match reflect_v1alpha(server, MessageRequest::ListServices(String::new())).await {
        Ok(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("not a list of services: {other:?}"),
    }
}

#[tokio::test]
async fn reflection_v1_lists_the_tollgate_services() {
    let server = Server::embedded().await;
    assert_lists(&list_v1(&server).await, &TOLLGATE_SERVICES);
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_tollgate_services() {
    let server = Server::embedded().await;
    assert_lists(&list_v1alpha(&server).await, &TOLLGATE_SERVICES);
}

/// Shows a server bug: the health service is served but not registered with
/// reflection, so `grpcurl list` and friends do not see it.
#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_health_service() {
    let server = Server::embedded().await;
    assert_lists(&list_v1(&server).await, &[HEALTH_SERVICE]);
    assert_lists(&list_v1alpha(&server).await, &[HEALTH_SERVICE]);
}

#[tokio::test]
async fn reflection_v1_describes_plan_change_request_and_its_imports() {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let server = Server::embedded().await;
    let symbol = "tollgate.v1.PlanChangeRequest".to_owned();
    let Ok(MessageResponse::FileDescriptorResponse(found)) =
        reflect_v1(&server, MessageRequest::FileContainingSymbol(symbol)).await
    else {
        panic!("no descriptor");
    };
    assert_describes_plan_change_request(&found.file_descriptor_proto);

    // A client resolves the import the same way.
    let import = "google/protobuf/timestamp.proto".to_owned();
    let Ok(MessageResponse::FileDescriptorResponse(found)) =
        reflect_v1(&server, MessageRequest::FileByFilename(import)).await
    else {
        panic!("no descriptor for the import");
    };
    let file = prost_types::FileDescriptorProto::decode(
        found
            .file_descriptor_proto
            .first()
            .expect("a file")
            .as_slice(),
    )
    .expect("descriptor");
    assert_eq!(file.name(), "google/protobuf/timestamp.proto");
}

#[tokio::test]
async fn reflection_v1alpha_describes_plan_change_request() {
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;
    let server = Server::embedded().await;
    let symbol = "tollgate.v1.PlanChangeRequest".to_owned();
    let Ok(MessageResponse::FileDescriptorResponse(found)) =
        reflect_v1alpha(&server, MessageRequest::FileContainingSymbol(symbol)).await
    else {
        panic!("no descriptor");
    };
    assert_describes_plan_change_request(&found.file_descriptor_proto);
}

/// Shows the same server bug as `reflection_v1_and_v1alpha_list_the_health_service`.
#[tokio::test]
async fn reflection_describes_the_health_service() {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let server = Server::embedded().await;
    let symbol = HEALTH_SERVICE.to_owned();
    match reflect_v1(&server, MessageRequest::FileContainingSymbol(symbol)).await {
        Ok(MessageResponse::FileDescriptorResponse(found)) => {
            let files: Vec<_> = found
                .file_descriptor_proto
                .iter()
                .map(|b| prost_types::FileDescriptorProto::decode(b.as_slice()).expect("fd"))
                .collect();
            assert!(
                files.iter().any(|f| f.package() == "grpc.health.v1"),
                "{:?}",
                names(&files)
            );
        }
        other => panic!("`{HEALTH_SERVICE}` is not described: {other:?}"),
    }
}

/// The reference Python client (grpcio-reflection) lists the services and
/// resolves `tollgate.v1.PlanChangeRequest`, as `grpcurl`-style tools do.
/// Skipped when the Python packages are not installed.
#[tokio::test]
async fn python_reflection_client_lists_every_service() {
    let available = Command::new("python3")
        .args(["-c", "import grpc, grpc_reflection"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        println!(
            "skipped: python3 with grpcio and grpcio-reflection is not available \
             (pip install grpcio grpcio-reflection)"
        );
        return;
    }
    let server = Server::embedded().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/python/list_services.py");
    let target = server.addr().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3").arg(script).arg(target).output()
    })
    .await
    .expect("join")
    .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python reflection client failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for want in TOLLGATE_SERVICES.iter().chain([&HEALTH_SERVICE]) {
        assert!(
            stdout.lines().any(|l| l == *want),
            "{want} missing:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("resolved tollgate.v1.PlanChangeRequest"),
        "{stdout}"
    );
}
