//! Dependencies and Resources from Kubernetes manifests, Helm templates and docker-compose.

use serde_json::json;

use super::{entity, fact, keys, run, run_declared, str_at, strings_at};
use crate::providers::infer::Declared;
use crate::providers::infer::workloads::{hosts_in, resource_type};

/// The services of a microservices-demo-like repository.
const SERVICES: &[(&str, &str)] = &[
    ("src/frontend/go.mod", "module github.com/GoogleCloudPlatform/microservices-demo/src/frontend\n"),
    ("src/frontend/main.go", "package main\n"),
    ("src/cartservice/src/cartservice.csproj", r#"<Project Sdk="Microsoft.NET.Sdk.Web"></Project>"#),
    ("src/checkoutservice/go.mod", "module github.com/GoogleCloudPlatform/microservices-demo/src/checkoutservice\n"),
    ("src/checkoutservice/main.go", "package main\n"),
];

const K8S: &str = r#"# frontend
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
  labels:
    app: frontend
spec:
  selector:
    matchLabels:
      app: frontend
  template:
    metadata:
      labels:
        app: frontend
    spec:
      containers:
        - name: server
          image: frontend
          env:
          - name: PORT
            value: "8080"
          - name: CART_SERVICE_ADDR
            value: "cartservice:7070"
          - name: CHECKOUT_SERVICE_ADDR
            value: "checkout.default.svc.cluster.local:5050"
          - name: SHIPPING_SERVICE_ADDR
            value: "shippingservice:50051"
          - name: ENABLE_PROFILER
            value: "0"
---
apiVersion: v1
kind: Service
metadata:
  name: checkout
spec:
  selector:
    app: checkoutservice
  ports:
  - port: 5050
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkoutservice
spec:
  template:
    metadata:
      labels:
        app: checkoutservice
    spec:
      containers:
      - name: server
        image: gcr.io/google-samples/microservices-demo/checkoutservice:v0.10.0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cartservice
spec:
  template:
    spec:
      containers:
      - name: server
        image: cartservice
        env:
        - name: REDIS_ADDR
          value: "redis-cart:6379"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: redis-cart
spec:
  template:
    spec:
      containers:
      - name: redis
        image: redis:alpine
"#;

#[test]
fn kubernetes_manifests_give_dependencies_and_well_known_images_give_resources() {
    let mut files = SERVICES.to_vec();
    files.push(("kubernetes-manifests/all.yaml", K8S));
    files.push(("kubernetes-manifests/kustomization.yaml", "resources:\n- all.yaml\n"));
    files.push(("release/notes.yaml", "kind: [not k8s\n"));
    let inf = run(&files);
    assert!(inf.errors.is_empty(), "{:?}", inf.errors);
    assert_eq!(
        keys(&inf),
        ["component:default/cartservice", "component:default/checkoutservice", "component:default/frontend", "resource:default/redis-cart"]
    );
    let frontend = entity(&inf, "component:default/frontend");
    let deps = ["component:default/cartservice", "component:default/checkoutservice"];
    assert_eq!(strings_at(frontend, "/spec/dependsOn"), deps);
    assert_eq!(fact(frontend, "discovery.observedDependsOn"), &json!(deps));
    let cart = entity(&inf, "component:default/cartservice");
    assert_eq!(strings_at(cart, "/spec/dependsOn"), ["resource:default/redis-cart"]);
    let redis = entity(&inf, "resource:default/redis-cart");
    assert_eq!(str_at(redis, "/spec/type"), "cache");
    assert_eq!(str_at(redis, "/spec/owner"), "group:default/unowned");
    assert_eq!(fact(redis, "image"), "redis:alpine");
    assert!(redis.location.ends_with(":kubernetes-manifests/all.yaml"));
}

const CHART_VALUES: &str = "images:\n  repository: gcr.io/google-samples/microservices-demo\ncartService:\n  create: true\n  name: cartservice\ncartDatabase:\n  inClusterRedis:\n    name: redis-cart\n";

const CART_TEMPLATE: &str = r#"{{- if .Values.cartService.create }}
{{/*
  A multi-line comment.
*/}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.cartService.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "chart.labels" . | nindent 4 }}
spec:
  template:
    spec:
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
      - name: server
        image: {{ .Values.images.repository }}/{{ .Values.cartService.name }}:{{ .Values.images.tag | default .Chart.AppVersion }}
        env:
        - name: REDIS_ADDR
          value: "{{ .Values.cartDatabase.inClusterRedis.name }}:6379"
        - name: BROKEN
          value: {{ printf "%s" "x" | quote }}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Values.cartDatabase.inClusterRedis.name | default "redis" }}
spec:
  template:
    spec:
      containers:
      - name: redis
        image: {{ .Values.redisImage | default "redis:alpine" | quote }}
{{- end }}
"#;

#[test]
fn helm_templates_are_rendered_from_the_chart_values() {
    let mut files = SERVICES.to_vec();
    files.push(("helm-chart/Chart.yaml", "apiVersion: v2\nname: onlineboutique\nversion: 0.10.0\n"));
    files.push(("helm-chart/values.yaml", CHART_VALUES));
    files.push(("helm-chart/templates/cartservice.yaml", CART_TEMPLATE));
    files.push(("helm-chart/templates/_helpers.tpl", "{{- define \"chart.labels\" -}}\n{{- end }}\n"));
    let inf = run(&files);
    assert!(inf.errors.is_empty(), "{:?}", inf.errors);
    let cart = entity(&inf, "component:default/cartservice");
    assert_eq!(strings_at(cart, "/spec/dependsOn"), ["resource:default/redis-cart"]);
    assert_eq!(fact(entity(&inf, "resource:default/redis-cart"), "image"), "redis:alpine");
}

const COMPOSE: &str = r#"services:
  web:
    build: ./web
    ports: ["8080:80"]
    environment:
      - API_URL=http://api:5000/v1
      - NODE_ENV=production
    depends_on: [api]
  api:
    build:
      context: .
      dockerfile: services/api/Dockerfile
    environment:
      DATABASE_URL: postgres://shop:${DB_PASSWORD}@db:5432/shop
      CACHE_HOST: cache
      WORKERS: 4
    depends_on:
      db:
        condition: service_healthy
      queue:
        condition: service_started
  db:
    image: postgres:16
  cache:
    image: docker.io/library/redis:7-alpine
  queue:
    image: rabbitmq:3-management
  mailhog:
    image: mailhog/mailhog
"#;

#[test]
fn docker_compose_services_depend_on_each_other_in_list_map_and_env_forms() {
    let inf = run(&[
        ("web/package.json", r#"{"name":"shop-web","private":true,"dependencies":{"react":"18"}}"#),
        ("services/api/requirements.txt", "flask\n"),
        ("services/api/app.py", ""),
        ("services/api/Dockerfile", "FROM python\n"),
        ("docker-compose.yml", COMPOSE),
    ]);
    assert!(inf.errors.is_empty(), "{:?}", inf.errors);
    // The name the deployment uses wins over the package's (`shop-web`).
    assert_eq!(
        keys(&inf),
        ["component:default/api", "component:default/web", "resource:default/cache", "resource:default/db", "resource:default/queue"]
    );
    assert_eq!(strings_at(entity(&inf, "component:default/web"), "/spec/dependsOn"), ["component:default/api"]);
    assert_eq!(fact(entity(&inf, "component:default/web"), "discovery.nameFrom"), "docker-compose.yml:2");
    // `depends_on` counts only when nothing else says what a service uses: the api's
    // environment names the database and the cache, not the queue.
    let api = entity(&inf, "component:default/api");
    assert_eq!(strings_at(api, "/spec/dependsOn"), ["resource:default/cache", "resource:default/db"]);
    let evidence = fact(api, "discovery.dependencyEvidence");
    assert_eq!(evidence["resource:default/db"], "docker-compose.yml:14 DATABASE_URL");
    assert_eq!(evidence["resource:default/cache"], "docker-compose.yml:15 CACHE_HOST");
    assert_eq!(str_at(entity(&inf, "resource:default/db"), "/spec/type"), "database");
    assert_eq!(str_at(entity(&inf, "resource:default/queue"), "/spec/type"), "queue");
}

#[test]
fn a_declared_entity_without_manifest_gets_its_observed_dependencies() {
    let declared = vec![Declared { dir: "legacy".into(), kind: "Component".into(), namespace: "ops".into(), name: "billing".into(), techdocs_ref: None }];
    let compose = "services:\n  billing:\n    image: acme/billing\n    depends_on: [db]\n  db:\n    image: mariadb\n";
    let inf = run_declared(&[("deploy/compose.yaml", compose)], declared);
    let billing = entity(&inf, "component:ops/billing");
    assert_eq!(strings_at(billing, "/spec/dependsOn"), ["resource:default/db"]);
    assert_eq!(fact(billing, "discovery.observedDependsOn"), &json!(["resource:default/db"]));
}

#[test]
fn broken_compose_and_kubernetes_files_are_reported_and_other_yaml_is_skipped_quietly() {
    let inf = run(&[
        ("docker-compose.yml", "services:\n  web: [\n"),
        ("k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n   bad: indent\n"),
        ("config/app.yaml", "a: [unclosed\n"),
        ("ci/pipeline.yml", "kind: pipeline\nsteps: []\n"),
    ]);
    let messages: Vec<&str> = inf.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages.iter().any(|m| m.starts_with("docker-compose.yml:")));
    assert!(messages.iter().any(|m| m.starts_with("k8s/deploy.yaml:")));
}

#[test]
fn service_addresses_are_read_from_urls_and_address_variables() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("CART_SERVICE_ADDR", "cartservice:7070", &["cartservice"]),
        ("REDIS_ADDR", "redis-cart:6379", &["redis-cart"]),
        ("DATABASE_URL", "postgres://u:p@db:5432/x", &["db"]),
        ("SPRING_DATASOURCE_URL", "jdbc:postgresql://orders-db:5432/orders", &["orders-db"]),
        ("UPSTREAM", "http://svc.ns.svc.cluster.local:8080/path", &["svc"]),
        ("KAFKA_BROKERS", "kafka-0:9092,kafka-1:9092", &["kafka-0", "kafka-1"]),
        ("DB_HOST", "mysql", &["mysql"]),
        ("PORT", "8080", &[]),
        ("NAME", "cartservice:7070", &[]),
        ("LISTEN_ADDR", "0.0.0.0:8080", &[]),
        ("API_URL", "http://localhost:3000", &[]),
        ("TIMEOUT", "10s", &[]),
    ];
    for (k, v, expected) in cases {
        assert_eq!(hosts_in(k, v), *expected, "{k}={v}");
    }
    assert_eq!(resource_type("mcr.microsoft.com/mssql/server:2022-latest"), Some("database"));
    assert_eq!(resource_type("quay.io/prometheuscommunity/postgres-exporter"), None);
    assert_eq!(resource_type("bitnami/kafka@sha256:abc"), Some("queue"));
}
