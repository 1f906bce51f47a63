//! APIs from OpenAPI, AsyncAPI, protobuf and GraphQL files.

use super::{entity, keys, run, str_at, strings_at};

const DEMO_PROTO: &str = "syntax = \"proto3\";\n// demo\npackage hipstershop;\n\nservice CartService {\n  rpc AddItem(AddItemRequest) returns (Empty) {}\n}\n/* service Commented { } */\nservice CurrencyService {\n  rpc Convert(CurrencyConversionRequest) returns (Money) {}\n}\n";

#[test]
fn openapi_and_asyncapi_documents_are_apis_named_by_title_and_provided_by_their_component() {
    let inf = run(&[
        ("orders/go.mod", "module example.com/orders\n"),
        ("orders/api/openapi.yaml", "openapi: 3.0.3\ninfo:\n  title: Orders API\n  description: |\n    Orders of the shop.\n    More.\npaths: {}\n"),
        ("orders/api/events.yml", "asyncapi: 2.6.0\ninfo:\n  title: Order Events\nchannels: {}\n"),
        ("legacy/swagger-api.json", r#"{"swagger":"2.0","info":{"title":"Legacy"},"paths":{}}"#),
        ("config/settings.yaml", "openapi_enabled: true\n"),
        ("package-lock.json", "{}"),
    ]);
    assert_eq!(keys(&inf), ["api:default/legacy", "api:default/order-events", "api:default/orders-api", "component:default/orders"]);
    let api = entity(&inf, "api:default/orders-api");
    assert_eq!(str_at(api, "/spec/type"), "openapi");
    assert!(str_at(api, "/spec/definition").starts_with("openapi: 3.0.3"));
    assert_eq!(str_at(api, "/spec/lifecycle"), "production");
    assert_eq!(str_at(api, "/spec/owner"), "group:default/unowned");
    assert_eq!(str_at(api, "/metadata/description"), "Orders of the shop.");
    assert_eq!(str_at(entity(&inf, "api:default/order-events"), "/spec/type"), "asyncapi");
    let orders = entity(&inf, "component:default/orders");
    assert_eq!(strings_at(orders, "/spec/providesApis"), ["api:default/Order-Events", "api:default/Orders-API"]);
}

#[test]
fn a_proto_copied_into_clients_is_provided_by_the_service_named_like_it() {
    let inf = run(&[
        ("protos/demo.proto", DEMO_PROTO),
        ("src/cartservice/src/cartservice.csproj", r#"<Project Sdk="Microsoft.NET.Sdk.Web"></Project>"#),
        ("src/cartservice/src/protos/Cart.proto", DEMO_PROTO),
        ("src/frontend/go.mod", "module github.com/GoogleCloudPlatform/microservices-demo/src/frontend\n"),
        ("src/frontend/proto/demo.proto", DEMO_PROTO),
        ("src/currencyservice/package.json", r#"{"name":"grpc-currency-service","dependencies":{"@grpc/grpc-js":"1"}}"#),
        ("src/currencyservice/proto/demo.proto", DEMO_PROTO),
    ]);
    assert_eq!(
        keys(&inf),
        [
            "api:default/hipstershop.cartservice",
            "api:default/hipstershop.currencyservice",
            "component:default/cartservice",
            "component:default/frontend",
            "component:default/grpc-currency-service",
        ]
    );
    let cart = entity(&inf, "component:default/cartservice");
    assert_eq!(strings_at(cart, "/spec/providesApis"), ["api:default/hipstershop.CartService"]);
    assert_eq!(strings_at(cart, "/spec/consumesApis"), ["api:default/hipstershop.CurrencyService"]);
    let currency = entity(&inf, "component:default/grpc-currency-service");
    assert_eq!(strings_at(currency, "/spec/providesApis"), ["api:default/hipstershop.CurrencyService"]);
    let frontend = entity(&inf, "component:default/frontend");
    assert!(strings_at(frontend, "/spec/providesApis").is_empty());
    assert_eq!(strings_at(frontend, "/spec/consumesApis").len(), 2);
    let api = entity(&inf, "api:default/hipstershop.cartservice");
    assert_eq!(str_at(api, "/spec/type"), "grpc");
    assert!(api.location.ends_with(":src/cartservice/src/protos/Cart.proto"), "{}", api.location);
}

#[test]
fn graphql_schemas_are_one_api_per_folder_and_query_documents_are_not() {
    let inf = run(&[
        ("gateway/package.json", r#"{"name":"gateway","dependencies":{"@apollo/server":"4"}}"#),
        ("gateway/schema/user.graphql", "type User { id: ID! }\n"),
        ("gateway/schema/query.graphqls", "extend type Query { me: User }\n"),
        ("web/src/queries/me.graphql", "query Me { me { id } }\n"),
        ("catalog/catalog.graphql", "type Query { products: [String] }\n"),
    ]);
    assert_eq!(keys(&inf), ["api:default/catalog", "api:default/gateway-graphql", "component:default/gateway"]);
    let api = entity(&inf, "api:default/gateway-graphql");
    assert!(str_at(api, "/spec/definition").contains("type User") && str_at(api, "/spec/definition").contains("extend type Query"));
    assert_eq!(strings_at(entity(&inf, "component:default/gateway"), "/spec/providesApis"), ["api:default/gateway-graphql"]);
}

#[test]
fn definitions_are_capped_and_broken_or_duplicate_definitions_are_reported() {
    let huge = format!("openapi: 3.1.0\ninfo:\n  title: Huge\npaths: {{}}\n# {}\n", "x".repeat(300 * 1024));
    let inf = run(&[
        ("a/openapi.yaml", &huge),
        ("b/openapi.yaml", "openapi: 3.1.0\ninfo:\n  title: Huge\n"),
        ("c/openapi.yaml", "openapi: 3.1.0\ninfo: [unclosed\n"),
    ]);
    assert_eq!(keys(&inf), ["api:default/huge"]);
    assert_eq!(str_at(entity(&inf, "api:default/huge"), "/spec/definition").len(), 256 * 1024);
    let messages: Vec<&str> = inf.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages.iter().any(|m| m.starts_with("b/openapi.yaml: API name \"Huge\" is already used by a/openapi.yaml")));
    assert!(messages.iter().any(|m| m.starts_with("c/openapi.yaml:2:")), "{messages:#?}");
}
