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
