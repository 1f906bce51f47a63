//! One small tree per pattern of real repositories that discovery follows (issue 12): names,
//! where dependencies are written, datastores, tooling, overrides, carved services.

use super::{entity, fact, keys, run, str_at, strings_at};

#[test]
fn a_shared_docker_folder_builds_one_service_per_command_of_a_root_module() {
    let compose = "services:\n  product:\n    build:\n      context: .\n      dockerfile: ./docker/Dockerfile-product\n  counter:\n    build:\n      context: .\n      dockerfile: ./docker/Dockerfile-counter\n    environment:\n      PRODUCT_CLIENT_URL: product:5001\n";
    let inf = run(&[
        ("go.mod", "module github.com/acme/coffeeshop\n"),
        ("cmd/product/main.go", "package main\n"),
        ("cmd/counter/main.go", "package main\n"),
        ("docker/Dockerfile-product", "FROM golang\n"),
        ("docker/Dockerfile-counter", "FROM golang\n"),
        ("docker-compose.yaml", compose),
    ]);
    let counter = entity(&inf, "component:default/counter");
    assert_eq!(str_at(counter, "/spec/type"), "service");
    assert_eq!(str_at(counter, "/metadata/annotations/portico.dev~1language"), "go");
    assert_eq!(strings_at(counter, "/spec/dependsOn"), ["component:default/product"]);
    // The module they share is their library, not a third service.
    assert_eq!(str_at(entity(&inf, "component:default/coffeeshop"), "/spec/type"), "library");
}

#[test]
fn an_image_name_without_the_shared_prefix_matches_a_component() {
    let k8s = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ui-deploy\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: public.ecr.aws/acme/retail-store-sample-ui:1.0\n          env:\n            - name: ENDPOINTS_CATALOG\n              value: http://catalog:80\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: catalog\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: public.ecr.aws/acme/retail-store-sample-catalog:1.0\n";
    let inf = run(&[
        ("src/ui/pom.xml", "<project><artifactId>ui</artifactId><packaging>jar</packaging><dependencies><dependency><artifactId>spring-boot-starter-web</artifactId></dependency></dependencies></project>"),
        ("src/catalog/go.mod", "module github.com/acme/catalog\n"),
        ("src/catalog/main.go", "package main\n"),
        ("deploy/k8s.yaml", k8s),
    ]);
    assert_eq!(strings_at(entity(&inf, "component:default/ui"), "/spec/dependsOn"), ["component:default/catalog"]);
}

#[test]
fn compose_overrides_and_dotenv_fill_in_the_base_file() {
    let base = "services:\n  api:\n    build: ./api\n    environment:\n      - CACHE_HOST\n  redis-cache:\n    image: redis:7\n  db:\n    image: postgres:16\n";
    let over = "services:\n  api:\n    environment:\n      DATABASE_URL: postgres://u:p@${DB_HOST:-db}:5432/x\n";
    let inf = run(&[
        ("api/requirements.txt", "flask\n"),
        ("api/app.py", ""),
        ("api/Dockerfile", "FROM python\n"),
        (".env", "CACHE_HOST=redis-cache\n"),
        ("docker-compose.yml", base),
        ("docker-compose.override.yml", over),
        ("docker-compose.test.yml", "services:\n  api-test-db:\n    image: postgres:16\n"),
    ]);
    let api = entity(&inf, "component:default/api");
    assert_eq!(strings_at(api, "/spec/dependsOn"), ["resource:default/db", "resource:default/redis-cache"]);
    assert_eq!(fact(api, "discovery.dependencyEvidence")["resource:default/db"], "docker-compose.override.yml:4 DATABASE_URL");
    // A test compose file's services are test doubles, not datastores of the system.
    assert!(!keys(&inf).contains(&"resource:default/api-test-db".to_owned()), "{:?}", keys(&inf));
}

#[test]
fn spring_configuration_feign_clients_and_a_config_server_name_dependencies() {
    let compose = "services:\n  config:\n    build: config\n  account-service:\n    build: account-service\n  statistics-service:\n    build: statistics-service\n  account-mongodb:\n    image: mongo:6\n";
    let pom = |name: &str| format!("<project><artifactId>{name}</artifactId><build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build></project>");
    let (config_pom, account_pom, stats_pom) = (pom("config"), pom("account-service"), pom("statistics-service"));
    let inf = run(&[
        ("config/pom.xml", &config_pom),
        ("config/src/main/resources/application.yml", "spring:\n  cloud:\n    config:\n      server:\n        native:\n          search-locations: classpath:/shared\n"),
        ("config/src/main/resources/shared/account-service.yml", "spring:\n  data:\n    mongodb:\n      host: account-mongodb\n"),
        ("account-service/pom.xml", &account_pom),
        ("account-service/src/main/resources/bootstrap.yml", "spring:\n  cloud:\n    config:\n      uri: http://config:8888\n"),
        ("account-service/src/main/java/acme/client/StatisticsServiceClient.java", "@FeignClient(name = \"statistics-service\")\npublic interface StatisticsServiceClient {}\n"),
        ("account-service/src/main/java/acme/AccountApplication.java", "@SpringBootApplication\npublic class AccountApplication {}\n"),
        ("statistics-service/pom.xml", &stats_pom),
        ("docker-compose.yml", compose),
    ]);
    let account = entity(&inf, "component:default/account-service");
    assert_eq!(
        strings_at(account, "/spec/dependsOn"),
        ["component:default/config", "component:default/statistics-service", "resource:default/account-mongodb"]
    );
    let evidence = fact(account, "discovery.dependencyEvidence");
    assert_eq!(evidence["resource:default/account-mongodb"], "config/src/main/resources/shared/account-service.yml:4 spring.data.mongodb.host");
    assert!(strings_at(entity(&inf, "component:default/config"), "/spec/dependsOn").is_empty());
}

#[test]
fn code_defaults_and_connection_strings_name_hosts() {
    let compose = "services:\n  vote:\n    build: ./vote\n  worker:\n    build: ./worker\n  redis:\n    image: redis:alpine\n  db:\n    image: postgres:15\n";
    let inf = run(&[
        ("vote/requirements.txt", "flask\nredis\n"),
        ("vote/app.py", "import os\nredis_host = os.getenv('REDIS_HOST', 'redis')\n"),
        ("vote/Dockerfile", "FROM python\n"),
        ("worker/Worker.csproj", r#"<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><OutputType>Exe</OutputType></PropertyGroup></Project>"#),
        ("worker/Program.cs", "var pgsql = OpenDbConnection(\"Server=db;Username=postgres;\");\nvar redisConn = OpenRedisConnection(\"redis\");\n"),
        ("docker-compose.yml", compose),
    ]);
    assert_eq!(strings_at(entity(&inf, "component:default/vote"), "/spec/dependsOn"), ["resource:default/redis"]);
    let worker = entity(&inf, "component:default/worker");
    assert_eq!(strings_at(worker, "/spec/dependsOn"), ["resource:default/db", "resource:default/redis"]);
    assert_eq!(fact(worker, "discovery.dependencyEvidence")["resource:default/db"], "worker/Program.cs:1 host");
}

#[test]
fn a_folder_building_from_a_datastore_image_is_a_resource_and_observability_folders_are_no_services() {
    let k8s = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: accounts-db\nspec:\n  template:\n    spec:\n      containers:\n        - name: db\n          image: accounts-db\n";
    let inf = run(&[
        ("src/accounts-db/Dockerfile", "FROM postgres:16-alpine\nCOPY init.sql /docker-entrypoint-initdb.d/\n"),
        ("deploy/grafana/Dockerfile", "FROM grafana/grafana:10.2.0\n"),
        ("k8s/accounts-db.yaml", k8s),
    ]);
    assert_eq!(keys(&inf), ["resource:default/accounts-db"]);
    assert_eq!(str_at(entity(&inf, "resource:default/accounts-db"), "/spec/type"), "database");
}

#[test]
fn load_generators_are_tools_and_reused_names_are_told_apart_not_dropped() {
    let inf = run(&[
        ("backoffice/package.json", r#"{"name":"backoffice","private":true,"scripts":{"start":"next start"},"dependencies":{"next":"14"}}"#),
        ("automation-ui/backoffice/package.json", r#"{"name":"backoffice","private":true,"scripts":{"start":"x"}}"#),
        ("src/loadgenerator/requirements.txt", "locust\n"),
        ("src/loadgenerator/locustfile.py", ""),
        ("src/loadgenerator/Dockerfile", "FROM python\n"),
    ]);
    assert_eq!(keys(&inf), ["component:default/automation-ui-backoffice", "component:default/backoffice", "component:default/loadgenerator"]);
    let load = entity(&inf, "component:default/loadgenerator");
    assert_eq!(str_at(load, "/spec/type"), "tool");
    assert!(str_at(load, "/metadata/annotations/portico.dev~1type-reason").contains("loadgenerator"));
    assert_eq!(str_at(entity(&inf, "component:default/automation-ui-backoffice"), "/spec/type"), "tool");
}

#[test]
fn nginx_upstreams_and_kubernetes_config_maps_name_dependencies() {
    let k8s = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api-config\ndata:\n  ORDERS_API_ADDR: orders:8080\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: store-front\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: store-front\n          envFrom:\n            - configMapRef:\n                name: api-config\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: orders\n";
    let inf = run(&[
        ("store-front/package.json", r#"{"name":"store-front","private":true,"dependencies":{"vue":"3"}}"#),
        ("store-front/Dockerfile", "FROM nginx\n"),
        ("store-front/nginx.conf", "server {\n  location /api/products { proxy_pass http://product-service:3002/; }\n}\n"),
        ("store-front/src/api.js", "export const orders = process.env.ORDERS_API_ADDR;\n"),
        ("product-service/Cargo.toml", "[package]\nname = \"product-service\"\n"),
        ("product-service/src/main.rs", "fn main() {}\n"),
        ("orders/go.mod", "module acme/orders\n"),
        ("orders/main.go", "package main\n"),
        ("k8s/all.yaml", k8s),
    ]);
    let front = entity(&inf, "component:default/store-front");
    assert_eq!(strings_at(front, "/spec/dependsOn"), ["component:default/orders", "component:default/product-service"]);
    assert_eq!(fact(front, "discovery.dependencyEvidence")["component:default/product-service"], "store-front/nginx.conf:2 url");
}

#[test]
fn variables_given_in_bulk_count_only_where_the_service_reads_them() {
    let deployment = |name: &str| format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: {name}\n          envFrom:\n            - configMapRef:\n                name: service-api-config\n");
    let k8s = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: service-api-config\ndata:\n  BALANCES_API_ADDR: balancereader:8080\n  CONTACTS_API_ADDR: contacts:8080\n---\n{}---\n{}---\n{}",
        deployment("ledgerwriter"),
        deployment("balancereader"),
        deployment("contacts")
    );
    let pom = |n: &str| format!("<project><artifactId>{n}</artifactId><build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build></project>");
    let (lw, br) = (pom("ledgerwriter"), pom("balancereader"));
    let inf = run(&[
        ("src/ledgerwriter/pom.xml", &lw),
        ("src/ledgerwriter/src/main/java/LedgerWriterController.java", "@Value(\"http://${BALANCES_API_ADDR}/balances\")\n"),
        ("src/balancereader/pom.xml", &br),
        ("src/contacts/requirements.txt", "flask\n"),
        ("src/contacts/contacts.py", ""),
        ("kubernetes-manifests/all.yaml", &k8s),
    ]);
    // Every service loads the ConfigMap of every address; ledgerwriter reads one of them.
    assert_eq!(strings_at(entity(&inf, "component:default/ledgerwriter"), "/spec/dependsOn"), ["component:default/balancereader"]);
    assert!(strings_at(entity(&inf, "component:default/contacts"), "/spec/dependsOn").is_empty());
}

#[test]
fn a_chart_gets_the_config_map_another_chart_renders_from_its_values() {
    let shared_values = "gatewayRoutesConfig:\n  spring:\n    cloud:\n      gateway:\n        routes:\n          - id: product_api\n            uri: http://product\n";
    let shared_template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yas-gateway-routes-config-configmap\ndata:\n  gateway-routes-config.yaml: |\n    {{- toYaml .Values.gatewayRoutesConfig | nindent 4 }}\n";
    let bff_values = "backend:\n  image:\n    repository: ghcr.io/acme/yas-backoffice-bff\n  nameOverride: backoffice-bff\n  ingress:\n    host: backoffice.yas.local.com\n  extraVolumes:\n    - name: routes\n      configMap:\n        name: yas-gateway-routes-config-configmap\n";
    let pom = |n: &str| format!("<project><artifactId>{n}</artifactId><build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build></project>");
    let (bff, product) = (pom("backoffice-bff"), pom("product"));
    let inf = run(&[
        ("backoffice-bff/pom.xml", &bff),
        ("product/pom.xml", &product),
        ("k8s/charts/yas-configuration/Chart.yaml", "apiVersion: v2\nname: yas-configuration\nversion: 0.1.0\n"),
        ("k8s/charts/yas-configuration/values.yaml", shared_values),
        ("k8s/charts/yas-configuration/templates/configmap.yaml", shared_template),
        ("k8s/charts/backoffice-bff/Chart.yaml", "apiVersion: v2\nname: backoffice-bff\nversion: 0.1.0\n"),
        ("k8s/charts/backoffice-bff/values.yaml", bff_values),
    ]);
    let bff = entity(&inf, "component:default/backoffice-bff");
    assert_eq!(strings_at(bff, "/spec/dependsOn"), ["component:default/product"]);
    assert_eq!(
        fact(bff, "discovery.dependencyEvidence")["component:default/product"],
        "k8s/charts/yas-configuration/values.yaml:7 spring.cloud.gateway.routes.uri"
    );
}

#[test]
fn a_compose_variant_does_not_add_settings_to_services_the_main_files_define() {
    let base = "services:\n  web:\n    build: ./web\n    environment:\n      API_URL: http://api:80\n  api:\n    build: ./api\n  legacy:\n    build: ./legacy\n";
    let prod = "services:\n  web:\n    environment:\n      LEGACY_URL: http://legacy:80\n";
    let inf = run(&[
        ("web/Dockerfile", "FROM node\n"),
        ("web/server.js", ""),
        ("api/Dockerfile", "FROM node\n"),
        ("legacy/Dockerfile", "FROM node\n"),
        ("docker-compose.yml", base),
        ("docker-compose.prod.yml", prod),
    ]);
    assert_eq!(strings_at(entity(&inf, "component:default/web"), "/spec/dependsOn"), ["component:default/api"]);
}

#[test]
fn the_description_is_the_first_paragraph_that_describes_with_its_line() {
    let readme = "# cart\n\n[![build](https://ci/badge.svg)](https://ci)\n\n`npm install && npm start`\n\n$ docker compose up cart\n\nThe cart service keeps each shopper's basket in Redis.\nIt answers over gRPC.\n";
    let inf = run(&[("cart/package.json", r#"{"name":"cart","private":true,"scripts":{"start":"node ."}}"#), ("cart/README.md", readme)]);
    let cart = entity(&inf, "component:default/cart");
    assert_eq!(str_at(cart, "/metadata/description"), "The cart service keeps each shopper's basket in Redis. It answers over gRPC.");
    assert_eq!(fact(cart, "discovery.descriptionFrom"), "cart/README.md:9");
}

#[test]
fn a_spring_module_is_a_service_when_it_has_its_main_class_wherever_the_plugin_is() {
    let parent = "<project><artifactId>parent</artifactId><packaging>pom</packaging><build><plugins><plugin><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build></project>";
    let web = "<project><parent><artifactId>parent</artifactId></parent><artifactId>NAME</artifactId><dependencies><dependency><artifactId>spring-boot-starter-web</artifactId></dependency></dependencies></project>";
    let plain = "<project><parent><artifactId>parent</artifactId></parent><artifactId>orders</artifactId></project>";
    let (common, orders) = (web.replace("NAME", "common-library"), plain);
    let inf = run(&[
        ("pom.xml", parent),
        ("common-library/pom.xml", &common),
        ("common-library/src/main/java/acme/common/WebConfig.java", "@Configuration\npublic class WebConfig {}\n"),
        ("orders/pom.xml", orders),
        ("orders/src/main/java/acme/orders/OrdersApplication.java", "@SpringBootApplication\npublic class OrdersApplication { public static void main(String[] a) { SpringApplication.run(OrdersApplication.class, a); } }\n"),
    ]);
    // Starters without a main class: a shared library, not a service.
    assert_eq!(str_at(entity(&inf, "component:default/common-library"), "/spec/type"), "library");
    // The plugin sits in the parent POM; the main class makes the module an application.
    assert_eq!(str_at(entity(&inf, "component:default/orders"), "/spec/type"), "service");
}

#[test]
fn a_module_nested_in_a_deployed_service_is_part_of_it_and_a_dockerfile_service_gets_its_language_from_files() {
    let compose = "services:\n  webspa:\n    build: ./src/WebSPA\n  notifier:\n    build: ./src/notifier\n";
    let inf = run(&[
        ("src/WebSPA/WebSPA.csproj", r#"<Project Sdk="Microsoft.NET.Sdk.Web"></Project>"#),
        ("src/WebSPA/Dockerfile", "FROM mcr.microsoft.com/dotnet/aspnet\n"),
        ("src/WebSPA/Client/package.json", r#"{"name":"webspa-client","private":true,"dependencies":{"@angular/core":"16"}}"#),
        ("src/notifier/Dockerfile", "FROM golang\n"),
        ("src/notifier/main.go", "package main\n"),
        ("src/notifier/mail/send.go", "package mail\n"),
        ("docker-compose.yml", compose),
    ]);
    // The Angular client is the host's front end, not a website of its own.
    assert_eq!(keys(&inf), ["component:default/notifier", "component:default/webspa"]);
    assert_eq!(str_at(entity(&inf, "component:default/notifier"), "/metadata/annotations/portico.dev~1language"), "go");
}

#[test]
fn grpc_apis_are_provided_by_the_server_the_code_registers_and_consumed_by_callers_only() {
    let proto = "syntax = \"proto3\";\npackage shop;\nservice CartService { rpc Get(Req) returns (Res); }\nservice AdService { rpc Ads(Req) returns (Res); }\n";
    let inf = run(&[
        // The definitions sit in a shared folder no component holds.
        ("protos/shop.proto", proto),
        ("src/cart/go.mod", "module acme/cart\n"),
        ("src/cart/main.go", "package main\nfunc main() { pb.RegisterCartServiceServer(s, &cart{}) }\n"),
        ("src/frontend/go.mod", "module acme/frontend\n"),
        ("src/frontend/main.go", "package main\nvar c = pb.NewCartServiceClient(conn)\n"),
        ("src/checkout/go.mod", "module acme/checkout\n"),
        ("src/checkout/main.go", "package main\n"),
    ]);
    let cart = entity(&inf, "component:default/cart");
    assert_eq!(strings_at(cart, "/spec/providesApis"), ["api:default/shop.CartService"]);
    assert_eq!(strings_at(entity(&inf, "component:default/frontend"), "/spec/consumesApis"), ["api:default/shop.CartService"]);
    // No code of checkout calls either service: it consumes nothing, not every definition.
    assert!(strings_at(entity(&inf, "component:default/checkout"), "/spec/consumesApis").is_empty());
}

#[test]
fn a_root_package_of_tooling_is_no_component_and_generated_code_is_no_service() {
    let inf = run(&[
        ("package.json", r#"{"name":"monorepo","private":true,"devDependencies":{"eslint":"9","prettier":"3"},"scripts":{"lint":"eslint ."}}"#),
        ("services/orders/package.json", r#"{"name":"orders","private":true,"scripts":{"start":"node ."},"dependencies":{"express":"4"}}"#),
        ("services/orders/Dockerfile", "FROM node\n"),
        ("gen/go/go.mod", "module acme/gen\n"),
        ("gen/go/main.go", "package main\n"),
    ]);
    assert_eq!(keys(&inf), ["component:default/gen", "component:default/orders"]);
    let generated = entity(&inf, "component:default/gen");
    assert_eq!(str_at(generated, "/spec/type"), "library");
    assert!(str_at(generated, "/metadata/annotations/portico.dev~1type-reason").contains("generated code"));
    assert_eq!(str_at(entity(&inf, "component:default/orders"), "/spec/type"), "service");
}

#[test]
fn a_development_compose_file_mounting_each_services_code_names_its_folder() {
    let compose = "services:\n  trainer-http:\n    build:\n      context: docker/app\n    volumes:\n      - ./internal:/internal\n    working_dir: /internal/trainer\n    env_file:\n      - .env\n  users-grpc:\n    build:\n      context: docker/app\n    volumes:\n      - ./internal:/internal\n    working_dir: /internal/users\n    env_file:\n      - .env\n  firestore:\n    build:\n      context: docker/firestore-emulator\n    env_file:\n      - .env\n  firestore-component-tests:\n    build:\n      context: docker/firestore-emulator\n";
    let inf = run(&[
        ("docker/app/Dockerfile", "FROM golang\nRUN go install github.com/cespare/reflex@latest\n"),
        ("docker/firestore-emulator/Dockerfile", "FROM google/cloud-sdk\n"),
        ("internal/trainer/go.mod", "module acme/trainer\n"),
        ("internal/trainer/main.go", "package main\nvar users = os.Getenv(\"USERS_GRPC_ADDR\")\n"),
        ("internal/users/go.mod", "module acme/users\n"),
        ("internal/users/main.go", "package main\n"),
        // Shared by every service: each variable counts only where the code reads it.
        (".env", "USERS_GRPC_ADDR=users-grpc:3020\nTRAINER_GRPC_ADDR=trainer-grpc:3010\n"),
        ("docker-compose.yml", compose),
    ]);
    // The shared image folder is no service; each service is the folder its code runs from.
    assert_eq!(keys(&inf), ["component:default/trainer-http", "component:default/users-grpc", "resource:default/firestore"]);
    assert_eq!(str_at(entity(&inf, "component:default/trainer-http"), "/metadata/annotations/portico.dev~1language"), "go");
    assert_eq!(strings_at(entity(&inf, "component:default/trainer-http"), "/spec/dependsOn"), ["component:default/users-grpc"]);
    assert!(strings_at(entity(&inf, "component:default/users-grpc"), "/spec/dependsOn").is_empty());
    // An emulated managed datastore is a Resource, and it calls nothing.
    let firestore = entity(&inf, "resource:default/firestore");
    assert_eq!(str_at(firestore, "/spec/type"), "database");
    assert!(strings_at(firestore, "/spec/dependsOn").is_empty());
}

#[test]
fn a_php_application_with_front_end_tooling_is_php() {
    let inf = run(&[
        ("composer.json", r#"{"name":"acme/shop","type":"project","require":{"symfony/framework-bundle":"7"}}"#),
        ("package.json", r#"{"name":"shop-assets","private":true,"devDependencies":{"webpack":"5"}}"#),
    ]);
    assert_eq!(str_at(entity(&inf, "component:default/acme-shop"), "/metadata/annotations/portico.dev~1language"), "php");
}

#[test]
fn a_dotnet_aspire_app_host_describes_services_datastores_and_references_in_code() {
    let host = r#"var builder = DistributedApplication.CreateBuilder(args);
var redis = builder.AddRedis("redis");
var rabbitMq = builder.AddRabbitMQ("eventbus")
    .WithLifetime(ContainerLifetime.Persistent);
var postgres = builder.AddPostgres("postgres");
var catalogDb = postgres.AddDatabase("catalogdb");
var catalogApi = builder.AddProject<Projects.Catalog_API>("catalog-api")
    .WithReference(rabbitMq).WaitFor(rabbitMq) // events
    .WithReference(catalogDb);
builder.AddProject<Projects.WebApp>("webapp")
    .WithReference(catalogApi)
    .WithReference(redis);
builder.Build().Run();
"#;
    let inf = run(&[
        ("src/eShop.AppHost/eShop.AppHost.csproj", r#"<Project Sdk="Aspire.AppHost.Sdk/9.0.0"><PropertyGroup><OutputType>Exe</OutputType></PropertyGroup></Project>"#),
        ("src/eShop.AppHost/Program.cs", host),
        ("src/Catalog.API/Catalog.API.csproj", r#"<Project Sdk="Microsoft.NET.Sdk.Web"></Project>"#),
        ("src/WebApp/WebApp.csproj", r#"<Project Sdk="Microsoft.NET.Sdk.Web"></Project>"#),
        // A library named like the queue: the queue is still the queue.
        ("src/EventBus/EventBus.csproj", r#"<Project Sdk="Microsoft.NET.Sdk"></Project>"#),
    ]);
    let catalog = entity(&inf, "component:default/catalog-api");
    assert_eq!(strings_at(catalog, "/spec/dependsOn"), ["resource:default/catalogdb", "resource:default/eventbus"]);
    assert_eq!(fact(catalog, "discovery.dependencyEvidence")["resource:default/catalogdb"], "src/eShop.AppHost/Program.cs:9 WithReference#1");
    assert_eq!(strings_at(entity(&inf, "component:default/webapp"), "/spec/dependsOn"), ["component:default/catalog-api", "resource:default/redis"]);
    assert_eq!(str_at(entity(&inf, "resource:default/eventbus"), "/spec/type"), "queue");
    assert_eq!(str_at(entity(&inf, "resource:default/catalogdb"), "/spec/type"), "database");
    assert_eq!(str_at(entity(&inf, "component:default/eshop.apphost"), "/spec/type"), "tool");
}

#[test]
fn names_resolve_within_their_own_compose_project_first() {
    let compose = |backend_dir: &str| format!("services:\n  backend:\n    build: ./backend\n    environment:\n      DB_HOST: db\n  db:\n    image: {}\n", if backend_dir == "a" { "mysql:8" } else { "postgres:16" });
    let (a, b) = (compose("a"), compose("b"));
    let inf = run(&[
        ("a/backend/go.mod", "module acme/a\n"),
        ("a/backend/main.go", "package main\n"),
        ("a/compose.yaml", &a),
        ("b/backend/go.mod", "module acme/b\n"),
        ("b/backend/main.go", "package main\n"),
        ("b/frontend/package.json", r#"{"name":"b-front","private":true,"dependencies":{"react":"18"}}"#),
        ("b/frontend/src/setupProxy.js", "module.exports = app => app.use(proxy({ target: 'http://backend:8000' }));\n"),
        ("b/compose.yaml", &format!("{b}  frontend:\n    build: ./frontend\n")),
    ]);
    // Project b's `backend` is b's, not the first one the repository defines.
    let front = entity(&inf, "component:default/frontend");
    let backend_b = strings_at(front, "/spec/dependsOn");
    assert_eq!(backend_b.len(), 1, "{backend_b:?}");
    let target = entity(&inf, &backend_b[0]);
    assert!(str_at(target, "/metadata/annotations/backstage.io~1source-location").ends_with("/b/backend/"), "{backend_b:?}");
}

#[test]
fn a_dockerfile_above_the_only_manifest_deploys_that_component_under_the_folders_name() {
    let inf = run(&[
        ("shipping/Dockerfile", "FROM php:8-apache\nCOPY html /var/www/html\n"),
        ("shipping/html/composer.json", r#"{"name":"acme/shipping-site","require":{"slim/slim":"4"}}"#),
        ("shipping/html/index.php", "<?php\n"),
        ("docker-compose.yml", "services:\n  shipping:\n    build: ./shipping\n"),
    ]);
    assert_eq!(keys(&inf), ["component:default/shipping"]);
    assert_eq!(str_at(entity(&inf, "component:default/shipping"), "/metadata/annotations/portico.dev~1language"), "php");
}

#[test]
fn kubernetes_secrets_lend_their_non_secret_keys() {
    // `cmVkaXM6Ly9jYWNoZTo2Mzc5` is `redis://cache:6379`.
    let k8s = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: orders-db\nstringData:\n  DB_HOST: orders-postgres\n  DB_PASSWORD: users-db\ndata:\n  REDIS_URL: cmVkaXM6Ly9jYWNoZTo2Mzc5\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: orders\n          env:\n            - name: DATABASE_HOST\n              valueFrom:\n                secretKeyRef:\n                  name: orders-db\n                  key: DB_HOST\n          envFrom:\n            - secretRef:\n                name: orders-db\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: orders-postgres\nspec:\n  template:\n    spec:\n      containers:\n        - name: db\n          image: postgres:16\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cache\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: redis:7\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: users-db\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: postgres:16\n";
    let inf = run(&[
        ("orders/go.mod", "module acme/orders\n"),
        ("orders/main.go", "package main\nvar cache = os.Getenv(\"REDIS_URL\")\n"),
        ("k8s/orders.yaml", k8s),
    ]);
    // The password's value names a datastore too, but a secret is never read.
    assert_eq!(strings_at(entity(&inf, "component:default/orders"), "/spec/dependsOn"), ["resource:default/cache", "resource:default/orders-postgres"]);
}
